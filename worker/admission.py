"""Sleeping code holds no core: a live worker may run more gradings than the host has cores,
and one beyond the cores starts only while a running one is idle.

A hand-in that sleeps (a hung test: the sandbox's wall clock stops it only after 3 × its CPU
seconds, 9 s on HW1P1) would otherwise hold one of the cores' slots for its whole wait while
uploads queue behind it. So a live worker has more grading slots (pool processes) than cores,
and each grading first asks for admission: it starts at once while fewer gradings run on the
host than it has cores (looked at every POLL); beyond that, only when fewer than `cores` of the
running ones used more than IDLE of a CPU over the last WINDOW (one admitted less than two
windows ago counts as computing: it is starting). A grading's CPU is that of its pool process and
everything below it, the sandbox's processes counted by their slot's cgroup (exited ones
included). What a job may use is unchanged: its limits are CPU seconds and memory, and a
computing test that shares a core is slowed, not stopped (docs/sandbox.md); so verdicts do not
depend on admission, only the queue's wait does.

The running gradings of a data folder's host are the tickets in `folder`: one file per pool
process holding one, named by its pid (a ticket whose process is gone is void). Admission is
decided under an flock of the folder, one at a time, and a grading admitted while another
measured counts as computing in that measure, so two waiting gradings never take the same idle
core. Where a grading's sandbox is not a process below its pool process (the docker
backend's containers) its CPU is not visible here and it counts as busy: no more than `cores`
run, as without admission.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from grader.sandbox.linux.cgroup import PARENT
from grader.sandbox.linux.procs import alive
from submissions_api.store import crud

log = logging.getLogger(__name__)
_gate: Admission | None = None

IDLE = 0.05
"""Of one CPU: under this a grading is idle (the sandbox's own word for a test that sleeps)."""
WINDOW = 0.5
"""Seconds over which the running gradings' CPU is measured."""
POLL = 0.05
"""Seconds between two looks for a free core while measuring."""
CPUACCT = Path("/sys/fs/cgroup/cpuacct")
SLOT_CGROUPS = f"/{PARENT}/"  # where JobCgroup makes a slot's cgroup
TICK = os.sysconf("SC_CLK_TCK")


class Admission:
    """The gate of one host's gradings (`folder`: its tickets), for `cores` computing at once;
    `sees_sandboxes` False where their CPU is not visible from here (docker)."""

    def __init__(self, folder: Path, cores: int, *, sees_sandboxes: bool = True,
                 window: float = WINDOW) -> None:
        self.folder = folder
        self.cores = max(1, cores)
        self.sees_sandboxes = sees_sandboxes
        self.window = window
        folder.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def admitted(self) -> Iterator[None]:
        """Wait for admission, hold a ticket for the block."""
        ticket = self.folder / str(os.getpid())
        waited = self._enter(ticket)
        if waited > self.window:
            log.info("admitted after %.1f s", waited)
        try:
            yield
        finally:
            ticket.unlink(missing_ok=True)

    def _enter(self, ticket: Path) -> float:
        """Admit at once while fewer gradings than cores run (looked at every POLL); else
        measure the running ones over a window and admit if fewer than `cores` of them, and of
        those admitted meanwhile, computed."""
        start = time.monotonic()
        while True:
            before = gradings_cpu(self.running())
            began = time.monotonic()
            while time.monotonic() - began < self.window:
                if self._admit(ticket, lambda running: len(running) < self.cores):
                    return time.monotonic() - start
                time.sleep(POLL)
            after = gradings_cpu(list(before))
            limit = IDLE * (time.monotonic() - began)
            idle = {pid for pid, cpu in before.items() if self.sees_sandboxes
                    and cpu is not None and after[pid] is not None and after[pid] - cpu <= limit
                    and self._age(pid) >= 2 * self.window}  # one just admitted is starting
            if self._admit(ticket, lambda running, idle=idle: sum(
                    1 for pid in running if pid not in idle) < self.cores):
                return time.monotonic() - start

    def _admit(self, ticket: Path, rule: Callable[[list[int]], bool]) -> bool:
        """Take a ticket if `rule` holds for the running gradings, decided under the lock."""
        with self._locked():
            if rule(self.running()):
                ticket.touch()
                return True
        return False

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def running(self) -> list[int]:
        """The pids holding a ticket now (void tickets are removed)."""
        pids = []
        for entry in self.folder.iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            if pid != os.getpid() and alive(pid):
                pids.append(pid)
            else:
                entry.unlink(missing_ok=True)
        return pids

    def _age(self, pid: int) -> float:
        try:
            return time.time() - (self.folder / str(pid)).stat().st_mtime
        except OSError:
            return 0.0


def grading_cpu(pid: int) -> float | None:
    """CPU seconds of a process and every process below it, a sandbox's processes by their
    slot's cgroup; None where the process is gone."""
    return gradings_cpu([pid])[pid]


def gradings_cpu(pids: list[int]) -> dict[int, float | None]:
    """grading_cpu of each of these processes. Each tree is walked down from its root through
    /proc/<pid>/task/<tid>/children, not by reading every process of the host: a waiting
    grading measures the running ones four times a second, and a look at all of /proc (5-10 ms
    of CPU with a busy host's few hundred processes) was most of the live worker's own CPU in a
    rush. Below a process in a slot's cgroup nothing is walked: all of it is in that cgroup."""
    return {pid: _tree_cpu(pid) for pid in pids}


def _tree_cpu(root: int) -> float | None:
    seconds, slots, todo, seen = 0.0, set(), [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        slot = slot_cgroup(pid)
        if slot is not None:
            slots.add(slot)
            continue
        ticks = _own_ticks(pid)
        if ticks is None:
            if pid == root:
                return None
            continue
        seconds += ticks / TICK
        todo.extend(_children(pid))
    return seconds + sum(cgroup_seconds(slot) or 0.0 for slot in slots)


def _own_ticks(pid: int) -> int | None:
    """A process's own CPU ticks (user + system), None where it is gone."""
    fields = _stat(pid)
    return int(fields[11]) + int(fields[12]) if fields else None


def _stat(pid: int | str) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command's name (the 4th field, the parent, first)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _children(pid: int) -> list[int]:
    """The children of every thread of a process (a thread's fork is its own child)."""
    found = []
    try:
        for task in os.scandir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, ValueError):
                found += [int(c) for c in Path(f"{task.path}/children").read_text().split()]
    except OSError:
        pass
    return found


def _processes() -> tuple[dict[int, list[int]], dict[int, int]]:
    """Every process now: the children of each pid, and each one's own CPU ticks (what
    bench/service_cpu.py moves into its cgroups)."""
    below: dict[int, list[int]] = {}
    ticks = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or (fields := _stat(entry.name)) is None:
            continue
        pid = int(entry.name)
        below.setdefault(int(fields[1]), []).append(pid)
        ticks[pid] = int(fields[11]) + int(fields[12])
    return below, ticks


def slot_cgroup(pid: int) -> Path | None:
    """The folder of the sandbox slot's cgroup the process is in (grader/sandbox/linux/
    cgroup.py: `mlpgrade/<pid>-<id>`, v1 cpuacct or v2), or None."""
    try:
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if not path.startswith(SLOT_CGROUPS):
                continue
            if "cpuacct" in controllers.split(","):
                return CPUACCT / path.lstrip("/")
            if controllers == "" and not CPUACCT.is_dir():
                return CPUACCT.parent / path.lstrip("/")
    except (OSError, ValueError):
        pass
    return None


def cgroup_seconds(folder: Path) -> float | None:
    """The CPU seconds a cgroup's processes used (v1 cpuacct.usage, v2 cpu.stat)."""
    try:
        if (folder / "cpuacct.usage").exists():
            return int((folder / "cpuacct.usage").read_text()) / 1e9
        for line in (folder / "cpu.stat").read_text().splitlines():
            if line.startswith("usage_usec "):
                return int(line.split()[1]) / 1e6
    except (OSError, ValueError):
        pass
    return None


def enable(admission: Admission | None) -> None:
    """This worker's gradings ask `admission` (set before the pool forks; None: they do not)."""
    global _gate
    _gate = admission


def gate() -> contextlib.AbstractContextManager[None]:
    """The admission of one grading in this worker (none where not enabled)."""
    return _gate.admitted() if _gate is not None else contextlib.nullcontext()


DEFER_MOST = 60.0
"""Seconds a bulk job waits at most for the live queue to empty: under the reaper's
`requeue_after` (120 s), and a bound, so that a live queue that never empties delays the bulk
work, never stops it."""
DEFER_POLL = 1.0
_defer = False


def defer_bulk_jobs() -> None:
    """This worker serves the bulk queue alone: its jobs that can wait, wait for the live queue
    (after_live). A worker that serves both queues does not: its slot would wait for gradings
    it is itself to run."""
    global _defer
    _defer = True


def after_live(sessions: Callable[[], Any], *, most: float = DEFER_MOST,
               poll: float = DEFER_POLL) -> float:
    """Wait while live gradings are queued or running (at most `most` seconds); the seconds
    waited. The bulk jobs that can wait (training runs, similarity) call this before they
    compute: during a deadline's rush they would take the cores the live gradings need, and
    their nice level yields only part of them (a tenth of a core at nice 10 against two live
    jobs, and none of what the API and the sandboxes' hosts spend at nice 0)."""
    start = time.monotonic()
    while _defer:
        with sessions() as session:
            busy = crud.live_work(session)
        waited = time.monotonic() - start
        if not busy or waited >= most:
            if waited >= poll:
                log.info("bulk job deferred %.0f s for the live queue", waited)
            return waited
        time.sleep(poll)
    return 0.0
