"""A warm slot holds nothing of one job that the next can read: not in memory (its frames, its
objects, its whole address space), not in the counters of the process it was forked from, and a
tree a job leaves too deep for a path costs the next job no new slot.

Each job's first process is forked from a supervisor that was itself forked from the pristine
zygote before the job was read, so the job's key and the earlier job's output were never in any
memory image a job starts from (docs/sandbox.md, "Warm slots").
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets

from tests.sandbox.probes import probe_job, run_probe
from tests.sandbox.test_warm import pytestmark  # noqa: F401 - root and cgroups, as there

#: Every run of 64 hex digits in this process's memory (frames, the strings its objects hold,
#: every readable mapping not backed by a file), hashed: the test names the hashes to look
#: for, never the values.
SCAN = r"""
import ctypes, gc, hashlib, json, re, sys
ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # dumpable again (it inherits not), to read its own mem
wanted = set(sys.argv[-2].split(","))
run = re.compile(rb"[0-9a-f]{64}")
def hits(data):
    return {hashlib.sha256(m).hexdigest() for m in run.findall(data)} & wanted
def texts(values):
    return b"\n".join(v.encode(errors="replace") if isinstance(v, str) else bytes(v)
                      for v in values if isinstance(v, (str, bytes, bytearray)))
found = {"frames": set(), "objects": set(), "memory": set()}
frame = sys._getframe()
while frame is not None:
    found["frames"] |= hits(repr(frame.f_locals).encode(errors="replace"))
    frame = frame.f_back
for obj in gc.get_objects():  # the containers: every string they hold
    if isinstance(obj, dict):
        found["objects"] |= hits(texts(list(obj.keys()) + list(obj.values())))
    elif isinstance(obj, (list, tuple, set, frozenset)):
        found["objects"] |= hits(texts(obj))
with open("/proc/self/maps") as f:
    maps = f.read().splitlines()
with open("/proc/self/mem", "rb", buffering=0) as mem:
    for line in maps:  # every readable mapping not backed by a file: heap, stacks, anonymous
        fields = line.split()
        name = fields[5] if len(fields) > 5 else ""
        if "r" not in fields[1] or name.startswith("/") or name in ("[vvar]", "[vsyscall]"):
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        try:
            mem.seek(start)
            found["memory"] |= hits(mem.read(end - start))
        except (OSError, ValueError, OverflowError):
            pass
print(json.dumps({k: sorted(v) for k, v in found.items()}))
"""

#: The earlier job: its output passes through the slot as a signed report line would, and it
#: keeps the marker in its own memory while it ends.
LEAVE = r"""
import sys
marker = sys.argv[-2]
for _ in range(50):
    print("\x1emlpgrade1 " + marker + ' {"test":"secret-of-the-earlier-hand-in"}', flush=True)
"""

#: The zygote's CPU as a job sees it (PID 1 of the namespace): its own and its reaped children's.
STAT = r"""
with open("/proc/1/stat") as f:
    fields = f.read().rsplit(")", 1)[1].split()
print(sum(int(x) for x in fields[11:15]))  # utime, stime, cutime, cstime (clock ticks)
"""

BURN = r"""
import time
end = time.process_time() + 1.5
while time.process_time() < end:
    pass
"""

DEEP = r"""
import os
os.chdir("/tmp")
for _ in range(3000):
    os.mkdir("d")
    os.chdir("d")
with open("leaf", "w") as f:
    f.write("deep")
os.chmod(".", 0)
print("deep")
"""

#: What a job may try on the processes that hold its key (its supervisor, its parent) and that
#: every job is forked from (the zygote): their memory, descriptors, environment, stack.
PRY = r"""
import json, os
opened = []
for pid in sorted({1, os.getppid()}):
    for name in ("mem", "environ", "fd", "stack", "maps"):
        path = f"/proc/{pid}/{name}"
        try:
            if name == "fd":
                os.listdir(path)
            else:
                with open(path, "rb") as f:
                    f.read(1)
            opened.append(path)
        except OSError:
            pass
print(json.dumps(opened))
"""

PROBE = f"""
import sys
PARTS = {{"scan": {SCAN!r}, "leave": {LEAVE!r}, "stat": {STAT!r}, "burn": {BURN!r},
          "deep": {DEEP!r}, "pry": {PRY!r}}}
exec(PARTS[sys.argv[-1]])  # after the runner's arguments
"""


def _run(warm, tmp_path, *args: str, secret: bytes = b""):
    job = dataclasses.replace(probe_job(tmp_path, PROBE, args=args), secret=secret)
    result = run_probe(warm, job)
    assert result.verdict == "completed", result
    return result


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_a_job_finds_neither_the_keys_nor_the_earlier_jobs_output_in_its_memory(warm, tmp_path):
    first_key, second_key, marker = (secrets.token_bytes(32) for _ in range(3))
    _run(warm, tmp_path, marker.hex(), "leave", secret=first_key)
    slot = warm.slot
    wanted = [_digest(first_key.hex()), _digest(second_key.hex()), _digest(marker.hex())]
    scan = _run(warm, tmp_path, ",".join(wanted), "scan", secret=second_key)
    assert warm.slot is slot  # the same zygote served both
    found = json.loads(scan.stdout.decode().strip().splitlines()[-1])
    # the job's own key too: the process a job starts as never held it (its reporter reads it)
    assert found == {"frames": [], "objects": [], "memory": []}


def test_the_zygote_shows_no_cpu_of_the_jobs_it_served(warm, tmp_path):
    before = int(_run(warm, tmp_path, "stat").stdout.decode().split()[-1])
    slot = warm.slot
    _run(warm, tmp_path, "burn")
    after = int(_run(warm, tmp_path, "stat").stdout.decode().split()[-1])
    assert warm.slot is slot
    ticks = os.sysconf("SC_CLK_TCK")
    assert after - before < 0.3 * ticks, (before, after)  # the burn was 1.5 s


def test_a_folder_chain_too_deep_for_a_path_costs_no_new_slot(warm, tmp_path):
    _run(warm, tmp_path, "stat")
    slot = warm.slot
    assert b"deep" in _run(warm, tmp_path, "deep").stdout
    restore = warm.slot.last_report["seconds"]["restore"] if warm.slot else None
    _run(warm, tmp_path, "stat")
    assert warm.slot is slot, "the deep tree cost a new slot"
    assert restore is not None and restore < 2.0, restore


def test_the_key_holders_are_closed_to_the_job(warm, tmp_path):
    """The supervisor that holds the job's key and the zygote every job is forked from are not
    dumpable: a job opens none of their memory, descriptors, environment or maps."""
    _run(warm, tmp_path, "stat")
    pried = _run(warm, tmp_path, "pry", secret=secrets.token_bytes(32))
    assert json.loads(pried.stdout.decode().strip().splitlines()[-1]) == []
