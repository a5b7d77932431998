"""Host-side pieces of isolation shared by the bwrap backend: slots, cgroups, seccomp, libraries.

Facts from ../shared/sandbox-notes.md: RLIMIT_NPROC counts per real uid, so each concurrent slot
gets its own unprivileged uid; only a cgroup caps a whole job's memory and processes (v1 here, v2
where it has controllers); a seccomp filter closes the sockets a network namespace leaves.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from grader.errors import InfrastructureError

SLOT_UID_BASE = 61000
SLOTS = 32
LOCK_DIR = Path("/run/mlpgrade/slots")
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass
class Slot:
    """One concurrent sandbox place: an unprivileged uid, held by a lock file."""

    index: int
    uid: int
    lock: int | None

    def release(self) -> None:
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None


def acquire_slot(timeout: float = 60.0) -> Slot:
    """Take a free slot (flock on /run/mlpgrade/slots/N); waits while all are busy."""
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    while True:
        for index in range(SLOTS):
            fd = os.open(LOCK_DIR / f"{index}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return Slot(index=index, uid=SLOT_UID_BASE + index, lock=fd)
        if time.monotonic() > deadline:
            raise InfrastructureError("no free sandbox slot within 60 s")
        time.sleep(0.05)


def stage_code(code_dir: Path) -> Path:
    """A world-readable temporary copy of the runner's code folder (its *.py files).

    The code may live where an unprivileged uid cannot reach (a clone under /root); the caller
    removes the copy when the job is done."""
    import shutil

    staged = Path(tempfile.mkdtemp(prefix="mlpgrade-code-"))
    staged.chmod(0o755)
    for script in code_dir.glob("*.py"):
        shutil.copyfile(script, staged / script.name)
        (staged / script.name).chmod(0o644)
    return staged


def reachable_by_others(path: Path) -> bool:
    """Whether an unprivileged uid can reach `path`: every folder on the way is searchable by
    others."""
    path = path.resolve()
    return all(os.stat(p).st_mode & 0o001 for p in (path, *path.parents))


def stage_data(data_dir: Path) -> Path | None:
    """The training data folder as a slot's uid can read it: the folder itself when it is
    reachable, else a world-readable temporary folder of hard links (copies across file systems)
    that the caller removes (returned; None when nothing was staged)."""
    import shutil

    if reachable_by_others(data_dir):
        return None
    staged = Path(tempfile.mkdtemp(prefix="mlpgrade-data-"))
    staged.chmod(0o755)
    for item in data_dir.iterdir():
        try:
            os.link(item, staged / item.name)
        except OSError:
            shutil.copyfile(item, staged / item.name)
            (staged / item.name).chmod(0o644)
    return staged


def idle_slot_processes() -> list[int]:
    """Processes of slot uids whose slot nobody holds: what a finished job left behind."""
    left = []
    for index in range(SLOTS):
        path = LOCK_DIR / f"{index}.lock"
        if not path.exists():
            continue
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a job is running in this slot right now
        else:
            left += processes_of(SLOT_UID_BASE + index)
        finally:
            os.close(fd)
    return left


def kill_uid(uid: int, timeout: float = 5.0) -> int:
    """SIGKILL every process whose real uid is `uid`, until none is left; returns how many."""
    killed = 0
    deadline = time.monotonic() + timeout
    while True:
        pids = processes_of(uid)
        if not pids:
            return killed
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        reap_children()
        if time.monotonic() > deadline:
            raise InfrastructureError(f"processes of sandbox uid {uid} survive SIGKILL: {pids}")
        time.sleep(0.01)


def processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        match = re.search(r"^Uid:\s+(\d+)", status, re.M)
        state = re.search(r"^State:\s+(\S)", status, re.M)
        if match and int(match.group(1)) == uid and not (state and state.group(1) == "Z"):
            pids.append(int(entry.name))
    return pids


def reap_children() -> None:
    """Collect any exited child (we are a subreaper: orphans of the sandbox land here)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def become_subreaper() -> None:
    """Orphans of sandboxed processes are re-parented to us, so we can reap them."""
    import ctypes

    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


class JobCgroup:
    """A per-job cgroup (v1 memory+pids+cpu+cpuacct, or v2) with limits and verdict counters."""

    def __init__(self, memory_mb: int, processes: int) -> None:
        self.name = f"mlpgrade/{uuid.uuid4().hex[:12]}"
        self.v2 = not (CGROUP_ROOT / "memory").is_dir()
        self.dirs: dict[str, Path] = {}
        mem = memory_mb * 1024 * 1024
        try:
            if self.v2:
                d = CGROUP_ROOT / self.name
                d.parent.mkdir(exist_ok=True)
                _write(d.parent / "cgroup.subtree_control", "+memory +pids +cpu")
                d.mkdir()
                self.dirs = {"memory": d, "pids": d, "cpu": d}
                _write(d / "memory.max", str(mem))
                _write(d / "memory.swap.max", "0")
                _write(d / "pids.max", str(processes))
                _write(d / "cpu.max", "100000 100000")
            else:
                for ctl in ("memory", "pids", "cpu", "cpuacct"):
                    d = CGROUP_ROOT / ctl / self.name
                    d.mkdir(parents=True)
                    self.dirs[ctl] = d
                _write(self.dirs["memory"] / "memory.limit_in_bytes", str(mem))
                swap = self.dirs["memory"] / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    _write(swap, str(mem))
                _write(self.dirs["pids"] / "pids.max", str(processes))
                _write(self.dirs["cpu"] / "cpu.cfs_period_us", "100000")
                _write(self.dirs["cpu"] / "cpu.cfs_quota_us", "100000")  # one core
        except OSError as exc:
            self.remove()
            raise InfrastructureError(f"cannot set up the job's cgroup: {exc}") from exc

    def attach_self(self) -> None:
        """Called in the child before exec: move this process into every controller."""
        for d in set(self.dirs.values()):
            _write(d / "cgroup.procs", str(os.getpid()))

    def cpu_seconds(self) -> float:
        try:
            if self.v2:
                text = (self.dirs["cpu"] / "cpu.stat").read_text()
                return int(re.search(r"usage_usec (\d+)", text).group(1)) / 1e6
            return int((self.dirs["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
        except (OSError, AttributeError, ValueError):
            return 0.0

    def oom_killed(self) -> bool:
        try:
            if self.v2:
                text = (self.dirs["memory"] / "memory.events").read_text()
                return int(re.search(r"oom_kill (\d+)", text).group(1)) > 0
            text = (self.dirs["memory"] / "memory.oom_control").read_text()
            match = re.search(r"oom_kill (\d+)", text)
            if match:
                return int(match.group(1)) > 0
            return int((self.dirs["memory"] / "memory.failcnt").read_text()) > 0
        except (OSError, AttributeError, ValueError):
            return False

    def pids_hit_max(self) -> bool:
        try:
            text = (self.dirs["pids"] / "pids.events").read_text()
            return int(re.search(r"max (\d+)", text).group(1)) > 0
        except (OSError, AttributeError, ValueError):
            return False

    def kill_all(self, timeout: float = 5.0) -> None:
        procs = self.dirs["pids"] / "cgroup.procs"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                pids = [int(p) for p in procs.read_text().split()]
            except OSError:
                return
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            reap_children()
            time.sleep(0.01)

    def remove(self) -> None:
        for d in sorted(set(self.dirs.values()), key=str, reverse=True):
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


def _write(path: Path, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def cgroups_usable() -> bool:
    """Root, and either v1 memory+pids controllers or a v2 hierarchy that offers them."""
    if os.geteuid() != 0:
        return False
    if (CGROUP_ROOT / "memory").is_dir() and (CGROUP_ROOT / "pids").is_dir():
        return True
    controllers = CGROUP_ROOT / "cgroup.controllers"
    return controllers.exists() and {"memory", "pids"} <= set(controllers.read_text().split())


def seccomp_filter_file() -> int:
    """A file descriptor holding the BPF program bwrap loads with --seccomp.

    Blocks IPv4/IPv6/netlink/packet sockets (the network namespace already has only lo; this
    closes even that), new namespaces, ptrace, and TIOCSTI (typing into a terminal)."""
    import pyseccomp as sc

    f = sc.SyscallFilter(defaction=sc.ALLOW)
    eperm = sc.ERRNO(errno.EPERM)
    for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET):
        f.add_rule(eperm, "socket", sc.Arg(0, sc.EQ, family))
    for call in ("unshare", "setns", "ptrace", "process_vm_readv", "process_vm_writev",
                 "mount", "umount2", "pivot_root", "chroot", "keyctl", "add_key",
                 "request_key", "bpf", "perf_event_open", "userfaultfd"):
        f.add_rule(eperm, call)
    CLONE_NEWNS_ETC = 0x7E020000  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
    f.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_NEWNS_ETC, 0x10000000))
    f.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_NEWNS_ETC, 0x20000000))
    f.add_rule(eperm, "ioctl", sc.Arg(1, sc.EQ, 0x5412))  # TIOCSTI
    tmp = tempfile.TemporaryFile()
    f.export_bpf(tmp)
    tmp.seek(0)
    fd = os.dup(tmp.fileno())
    tmp.close()
    return fd


@cache
def runtime_mounts(runtime_python: str) -> tuple[tuple[str, str, str], ...]:
    """(kind, source, destination) read-only mounts the student runtime needs: the venv, the
    copies of the base stdlib (with an empty site-packages) and libpython at their original
    paths (see grader.runtime), and every system library `ldd` lists for the interpreter and
    its extension modules."""
    python = Path(runtime_python)
    venv = python.parent.parent
    saved = venv / "base" / "mounts.json"  # ldd over every extension costs ~0.5 s: do it once
    if saved.is_file():
        return tuple(tuple(m) for m in json.loads(saved.read_text()))
    origin = json.loads((venv / "base" / "origin.json").read_text())
    prefix, version = Path(origin["prefix"]), origin["version"]
    stdlib = prefix / "lib" / f"python{version}"
    mounts = [("dir", str(venv), str(venv)),
              ("dir", str(venv / "base" / "stdlib"), str(stdlib))]
    mounts += [("file", str(venv / "base" / name), str(prefix / "lib" / name))
               for name in origin["libs"]]
    objects = [str(python)] + [str(p) for p in venv.rglob("*.so*") if p.is_file()]
    libs: set[str] = set()
    for start in range(0, len(objects), 100):
        out = subprocess.run(["ldd", *objects[start:start + 100]], capture_output=True,
                             text=True).stdout
        for match in re.finditer(r"(?:=>\s*)?(/\S+\.so[.\d]*)\s+\(0x", out):
            libs.add(match.group(1))
    for extra in ("/lib/x86_64-linux-gnu/libgcc_s.so.1", "/lib/aarch64-linux-gnu/libgcc_s.so.1"):
        if Path(extra).exists():  # glibc dlopens it when a thread exits; ldd does not list it
            libs.add(extra)
    for lib in sorted(libs):
        if lib.startswith(str(venv) + os.sep) or lib.startswith(str(prefix) + os.sep):
            continue
        if Path(lib).exists():
            mounts.append(("file", os.path.realpath(lib), lib))
    try:
        saved.write_text(json.dumps(mounts))
    except OSError:
        pass
    return tuple(mounts)
