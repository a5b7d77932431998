"""A per-job cgroup: the only thing that caps a whole job's memory and processes.

RLIMIT_AS and RLIMIT_DATA are per process (eight forks of 600 MiB each use 4.8 GiB) and a student
can catch the MemoryError; a cgroup's memory limit holds for the job as a whole. The verdicts
come from its counters: `oom_kill` in memory.oom_control (v1) or memory.events (v2), `max` in
pids.events. Both hierarchies are supported: v1 memory+pids+cpu+cpuacct as root, or v2 where it
offers the controllers. Setting one up costs 5-14 ms a job.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from grader.errors import InfrastructureError
from grader.sandbox.linux.procs import alive, kill_until_none

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "mlpgrade"
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")


def cgroups_usable() -> bool:
    """Root, and either v1 memory+pids controllers or a v2 hierarchy that offers them."""
    if os.geteuid() != 0:
        return False
    if (CGROUP_ROOT / "memory").is_dir() and (CGROUP_ROOT / "pids").is_dir():
        return True
    controllers = CGROUP_ROOT / "cgroup.controllers"
    return controllers.exists() and {"memory", "pids"} <= set(controllers.read_text().split())


def cpu_shares(nice: int) -> int:
    """cgroup v1's cpu.shares for a nice level: the kernel's own weight of it (1024 at nice 0,
    each level 1.25 times less: 110 at nice 10)."""
    return max(2, min(262144, round(1024 / 1.25 ** nice)))


class JobCgroup:
    """A per-job cgroup (v1 memory+pids+cpu+cpuacct, or v2) with limits and verdict counters:
    memory = the limit with no swap, pids.max, one core, and the CPU weight of the process that
    makes it. Jobs' cgroups are siblings, so the CPU is shared between them by their weights,
    not by their processes' nice levels: a niced worker's jobs (the bulk queue's,
    worker/__main__.py) yield to the live queue's only through this weight."""

    def __init__(self, memory_mb: int, processes: int) -> None:
        self.name = f"{PARENT}/{os.getpid()}-{uuid.uuid4().hex[:12]}"  # its owner: sweep_cgroups
        self.v2 = not (CGROUP_ROOT / "memory").is_dir()
        self.dirs: dict[str, Path] = {}
        try:
            if self.v2:
                self._make_v2(memory_mb * 1024 * 1024, processes)
            else:
                self._make_v1(memory_mb * 1024 * 1024, processes)
        except OSError as exc:
            self.remove()
            raise InfrastructureError(f"cannot set up the job's cgroup: {exc}") from exc

    def _make_v2(self, memory: int, processes: int) -> None:
        d = CGROUP_ROOT / self.name
        d.parent.mkdir(exist_ok=True)
        _write(d.parent / "cgroup.subtree_control", "+memory +pids +cpu")
        d.mkdir()
        self.dirs = {"memory": d, "pids": d, "cpu": d}
        _write(d / "memory.max", str(memory))
        _write(d / "memory.swap.max", "0")
        _write(d / "pids.max", str(processes))
        _write(d / "cpu.max", "100000 100000")
        _write(d / "cpu.weight.nice", str(os.getpriority(os.PRIO_PROCESS, 0)))

    def _make_v1(self, memory: int, processes: int) -> None:
        for ctl in V1_CONTROLLERS:
            d = CGROUP_ROOT / ctl / self.name
            d.mkdir(parents=True)
            self.dirs[ctl] = d
        _write(self.dirs["memory"] / "memory.limit_in_bytes", str(memory))
        swap = self.dirs["memory"] / "memory.memsw.limit_in_bytes"
        if swap.exists():
            _write(swap, str(memory))
        _write(self.dirs["pids"] / "pids.max", str(processes))
        _write(self.dirs["cpu"] / "cpu.cfs_period_us", "100000")
        _write(self.dirs["cpu"] / "cpu.cfs_quota_us", "100000")  # one core
        _write(self.dirs["cpu"] / "cpu.shares",
               str(cpu_shares(os.getpriority(os.PRIO_PROCESS, 0))))

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
        return self.oom_kills() > 0

    def oom_kills(self) -> int:
        """How often the memory limit killed a process of the cgroup (a warm slot compares the
        count before and after each job)."""
        try:
            if self.v2:
                text = (self.dirs["memory"] / "memory.events").read_text()
                return int(re.search(r"oom_kill (\d+)", text).group(1))
            text = (self.dirs["memory"] / "memory.oom_control").read_text()
            match = re.search(r"oom_kill (\d+)", text)
            if match:
                return int(match.group(1))
            return int((self.dirs["memory"] / "memory.failcnt").read_text())
        except (OSError, AttributeError, ValueError):
            return 0

    def pids_hit_max(self) -> bool:
        return self.pids_max_events() > 0

    def pids_max_events(self) -> int:
        """How often pids.max refused a fork."""
        try:
            text = (self.dirs["pids"] / "pids.events").read_text()
            return int(re.search(r"max (\d+)", text).group(1))
        except (OSError, AttributeError, ValueError):
            return 0

    def pids(self) -> list[int]:
        """The processes in the cgroup now (none once it is gone)."""
        try:
            return [int(p) for p in (self.dirs["pids"] / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def kill_all(self, timeout: float = 5.0) -> None:
        """SIGKILL every process of the job until none is left (or `timeout` runs out)."""
        kill_until_none(self.pids, timeout)

    def remove(self) -> None:
        remove_cgroups(self.dirs.values())


def remove_cgroups(folders: Iterable[Path]) -> None:
    """Remove cgroup folders, each retried for up to a second while its last processes exit."""
    for d in sorted(set(folders), key=str, reverse=True):
        for _ in range(100):
            try:
                d.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.01)


def sweep_cgroups() -> list[Path]:
    """Remove the job cgroups a dead process made (the pid its name begins with is gone) that no
    process is in. A box's owner removes its cgroup when the box closes; a worker killed with
    -9 cannot, and its slots' processes die with it (bubblewrap's --die-with-parent), leaving
    empty cgroups that the next worker started on the host removes (worker/__main__.py). A live
    owner's cgroup is never touched, even empty (before its first process, or after its last
    died and before the owner read its counters). The folders removed."""
    removed = []
    parents = ([CGROUP_ROOT / PARENT] if not (CGROUP_ROOT / "memory").is_dir()
               else [CGROUP_ROOT / ctl / PARENT for ctl in V1_CONTROLLERS])
    for parent in parents:
        try:
            children = [d for d in parent.iterdir() if d.is_dir()]
        except OSError:
            continue
        for d in children:
            owner = d.name.split("-", 1)[0]
            if not owner.isdigit() or alive(int(owner)):
                continue
            try:
                d.rmdir()  # refused while a process or a child cgroup is in it
            except OSError:
                continue
            removed.append(d)
    return removed


def _write(path: Path, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)
