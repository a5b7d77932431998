"""A warm bwrap slot: one hand-in cannot leave anything the next one in the same slot observes.

The first job of each test does its worst to leave traces (files in every writable place, a
daemon that escaped its session, a module and an environment variable, open descriptors); the
next job, in the same slot and the same zygote, looks for every one of them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.sandbox.linux.cgroup import cgroups_usable
from grader.sandbox.linux.procs import processes_of
from grader.sandbox.linux.uids import SLOT_UID_BASE, idle_slot_processes
from tests.conftest import IN_CI
from tests.sandbox.probes import PROBE_LIMITS, probe_job, run_probe

# In CI (root, cgroups) a machine without them fails here instead of skipping.
pytestmark = pytest.mark.skipif(not IN_CI and (os.geteuid() != 0 or not cgroups_usable()),
                                reason="warm slots need root and cgroups")

LEAVE = """
import os, sys, time
out = sys.argv[sys.argv.index('--out') + 1]
if sys.argv[-1] == "look":
    exec(LOOK)
    sys.exit(0)
if sys.argv[-1] == "tamper":
    exec(TAMPER)
    sys.exit(0)
for folder in ("/tmp", "/dev/shm", "/dev", out):
    try:
        with open(folder + "/left-behind", "w") as f:
            f.write("secret of the earlier hand-in")
        os.makedirs(folder + "/left-dir/deeper", exist_ok=True)
        os.chmod(folder + "/left-dir", 0)  # ours: still emptied
    except OSError:
        pass
sys.modules["left_module"] = sys
import ctypes
libc = ctypes.CDLL(None)
libc.shmget(0x6d6c70, 4096, 0o1666)  # System V IPC outlives its process (refused by bwrap's
libc.semget(0x6d6c71, 1, 0o1666)     # seccomp; a container allows it)
libc.msgget(0x6d6c72, 0o1666)
# a POSIX message queue: a file of /dev/mqueue where the box has one (glibc >= 2.34 holds it)
libc.mq_open(b"/left-queue", os.O_CREAT | os.O_RDWR, 0o666, None)
os.environ["LEFT_BEHIND"] = "1"
kept = [os.open("/handin/hello.txt", os.O_RDONLY) for _ in range(3)]
for fd in kept:
    os.set_inheritable(fd, True)
if os.fork() == 0:  # a daemon: its own session, outliving the job
    os.setsid()
    if os.fork() == 0:
        with open("/tmp/daemon-alive", "w") as f:
            f.write(str(os.getpid()))
        while True:
            time.sleep(0.05)
    os._exit(0)
time.sleep(0.5)
print("left", os.getuid())
"""

LOOK = """
import json, os, sys
out = sys.argv[sys.argv.index('--out') + 1]
found = {}
for folder in ("/tmp", "/dev/shm", "/dev", out, "/dev/mqueue"):
    if os.path.isdir(folder):
        found[folder] = sorted(n for n in os.listdir(folder) if "left" in n or "daemon" in n)
found["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit()
                            and int(p) not in (1, os.getppid(), os.getpid()))
found["module"] = "left_module" in sys.modules
found["ipc"] = {}
for kind in ("shm", "sem", "msg"):
    try:
        with open("/proc/sysvipc/" + kind) as f:
            found["ipc"][kind] = len(f.readlines()[1:])
    except OSError:
        found["ipc"][kind] = 0
found["env"] = os.environ.get("LEFT_BEHIND")
found["fds"] = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
found["handin"] = sorted(os.listdir("/handin"))
found["uid"] = os.getuid()
print(json.dumps(found))
"""

CLEAN = {"/tmp": [], "/dev/shm": [], "/dev": [], "/out": [], "/dev/mqueue": [], "processes": [],
         "module": False,
         "env": None, "ipc": {"shm": 0, "sem": 0, "msg": 0},
         "handin": ["hello.txt"]}


TAMPER = """
import glob
for path in glob.glob("/tmp/mplconfig-*/*"):
    try:
        with open(path, "a") as f:
            f.write("tampered")
    except OSError:
        pass
print("done")
"""

#: One probe script for every job (a slot serves jobs of one code folder), its part by the last
#: argument: leave traces, look for them, or tamper with the zygote's own files.
PROBE = f"LOOK = {LOOK!r}\nTAMPER = {TAMPER!r}\n" + LEAVE


def _job(warm, tmp_path, part: str):
    return run_probe(warm, probe_job(tmp_path, PROBE, args=(part,)))


def _look(warm, tmp_path) -> dict:
    result = _job(warm, tmp_path, "look")
    assert result.verdict == "completed", result
    return json.loads(result.stdout.decode().strip().splitlines()[-1])


def test_next_hand_in_in_the_slot_sees_nothing_of_the_earlier_one(warm, tmp_path):
    (tmp_path / "a").mkdir()
    first = _job(warm, tmp_path / "a", "leave")
    assert first.verdict == "completed" and b"left" in first.stdout, first
    slot = warm.slot
    found = _look(warm, tmp_path)
    assert slot is not None and warm.slot is slot  # the same warm slot, the same zygote
    fds = found.pop("fds")
    assert {k: found.get(k, []) for k in CLEAN} == CLEAN
    assert len(fds) <= 4, fds  # 0, 1, 2 and the listing's own
    # the unprivileged slot uid, never the uid of the process that supervises it (root)
    assert found["uid"] >= 61000 and found["uid"] != os.getuid()


def test_a_changed_file_of_the_zygote_costs_a_fresh_slot(warm, tmp_path):
    """A hand-in that changes what the zygote keeps in /tmp (its font cache copy) cannot be
    undone there: the slot is not reused, and the next job still sees nothing."""
    (tmp_path / "a").mkdir()
    first = _job(warm, tmp_path / "a", "tamper")
    assert first.verdict == "completed", first
    assert warm.slot is None  # closed: the next job starts a fresh zygote
    found = _look(warm, tmp_path)
    found.pop("fds")
    assert {k: found.get(k, []) for k in CLEAN} == CLEAN


#: A worker (this script, in its own process) whose warm slot runs a job that sleeps.
WORKER = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from tests.sandbox.probes import probe_job
from grader.sandbox import get_sandbox
job = probe_job(Path({tmp!r}), "import time\\nprint('asleep', flush=True)\\ntime.sleep(120)")
get_sandbox({name!r}).run(job)
"""


def _warm_containers() -> set[str]:
    """The ids of the warm slots' containers on the engine now."""
    import docker

    from grader.sandbox.docker import LABEL

    # sparse: a plain list, without inspecting each container afterwards (a slot that removes
    # itself between the list and the inspection made the inspection fail with NotFound)
    found = docker.from_env().containers.list(
        all=True, sparse=True, filters={"label": f"{LABEL}=warm"})
    return {c.id for c in found}


def test_a_worker_killed_mid_job_leaves_nothing_of_its_slot(warm, tmp_path):
    """A worker that dies (SIGKILL) while its slot runs a job: the slot's box ends with it (a
    container sees its stdin close, and removes itself), and no process of the job is left."""
    name = warm.name
    warm.close()
    # what this process's other warm slots hold (get_sandbox keeps one per process) is not
    # the worker's
    uids = range(SLOT_UID_BASE, SLOT_UID_BASE + 32)
    busy = {uid for uid in uids if processes_of(uid)}
    others = _warm_containers() if name == "docker" else set()

    def worker_slot() -> bool:
        if name == "docker":
            return bool(_warm_containers() - others)
        return any(processes_of(uid) for uid in uids if uid not in busy)

    worker = subprocess.Popen([sys.executable, "-c", WORKER.format(
        root=str(Path(__file__).parents[2]), tmp=str(tmp_path), name=name)])
    try:
        deadline = time.monotonic() + 60
        while not worker_slot() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)  # the zygote is up and the job asleep
        assert worker_slot()
    finally:
        worker.kill()
        worker.wait()
    deadline = time.monotonic() + 20
    while worker_slot() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not worker_slot()
    assert idle_slot_processes() == []


SPIN = """
import os
for _ in range(3):
    if os.fork() == 0:
        break
while True:
    pass
"""

FORK_BOMB = """
import os, time
children = []
for _ in range(200):
    try:
        children.append(os.fork())
    except OSError:
        break
    if children[-1] == 0:
        time.sleep(30)
        os._exit(0)
raise SystemExit(1)  # at the limit: the sleeping children are the zygote's to kill
"""

HOG = "x = bytearray(1024 * 2**20)\nx[::4096] = b'x' * len(x[::4096])\n"


@pytest.mark.parametrize("code, verdict", [(SPIN, "cpu_limit"), (FORK_BOMB, "process_limit"),
                                           (HOG, "out_of_memory")],
                         ids=["cpu", "processes", "memory"])
def test_a_slots_limits_are_the_jobs_whole(warm, tmp_path, code, verdict):
    """A job's CPU budget holds across all its processes (four spinning on a 1 s budget end
    by it, long before each one's own RLIMIT_CPU), as do its process and memory limits; the
    slot is replaced and the next job runs as before."""
    limits = dataclasses.replace(PROBE_LIMITS, cpu_seconds=1, wall_seconds=20, memory_mb=256)
    (tmp_path / "a").mkdir()
    result = run_probe(warm, probe_job(tmp_path / "a", code, limits))
    assert result.verdict == verdict, result
    assert result.wall_seconds < 10, result
    if verdict == "cpu_limit":
        assert 1.0 <= result.cpu_seconds < 3.0, result
    assert "completed" == run_probe(warm, probe_job(tmp_path, "print('next')")).verdict


def test_a_job_that_kills_its_supervisor_costs_a_new_slot_not_the_next_job(warm, tmp_path):
    """A hand-in can SIGKILL its supervisor (same uid): the zygote then ends its box without a
    report. That costs one more try in a new slot and then the verdict `killed` (whose fault it
    is, the signed `ready` decides), never the next job's run."""
    (tmp_path / "a").mkdir()
    code = "import os, signal, time\nos.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(30)\n"
    start = time.monotonic()
    result = run_probe(warm, probe_job(tmp_path / "a", code))
    assert result.verdict == "killed" and time.monotonic() - start < 20, result
    assert warm.slot is None  # both slots it cost are gone
    assert "completed" == run_probe(warm, probe_job(tmp_path, "print('next')")).verdict
