"""The CPU seconds a service spent, on a machine other sessions share: its processes' cpuacct
cgroup (what they start inherits it, exited processes included) plus the sandboxes' own cgroups
(grader/sandbox/linux/cgroup.py moves a job's processes into `mlpgrade/<id>`, out of ours),
found by walking the service's processes twice a second. Root and cgroup v1 cpuacct only;
elsewhere `stop()` returns None.

Split by the process that spent it (`split()`): each of the service's processes is moved into a
child cgroup of its role (ROLES: a `python -m worker --queues live|bulk` process and everything
below it is that worker's, the rest the API's: `serve` itself, its API processes and their
readers), so what a role's processes start, and what exits, stays counted there; the
sandboxes' cgroups are counted by the worker they were found below (the bulk worker's are its
training runs)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from worker.admission import CPUACCT, _processes, cgroup_seconds, slot_cgroup

EVERY = 0.5
API, LIVE, BULK = "API", "live worker", "bulk worker"
ROLES = (API, LIVE, BULK)


def _role(pid: int, inherited: str) -> str:
    """The role of a process: a worker's by its command line, else its parent's."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return inherited
    if b"worker" in argv and b"--queues" in argv:
        queues = argv[argv.index(b"--queues") + 1] if argv.index(b"--queues") + 1 < len(argv) \
            else b""
        return BULK if queues == b"bulk" else LIVE
    return inherited


def _cpuacct_of(pid: int | str) -> str | None:
    try:
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "cpuacct" in controllers.split(","):
                return path
    except (OSError, ValueError):
        pass
    return None


class ServiceCpu:
    def __init__(self, name: str) -> None:
        self.folder: Path | None = CPUACCT / f"mlpgrade-bench-{name}-{uuid.uuid4().hex[:8]}"
        try:
            self.folder.mkdir()
        except OSError:
            self.folder = None
        self.slots: dict[Path, tuple[float, float]] = {}  # cgroup → (seconds then, last seen)
        self.slot_role: dict[Path, str] = {}
        self.roles: dict[str, Path] = {}
        if self.folder is not None:
            for role in ROLES:
                (self.folder / role.replace(" ", "-")).mkdir()
                self.roles[role] = self.folder / role.replace(" ", "-")
        self.moved: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def starting(self) -> Iterator[None]:
        """Processes started in this block join the service's cgroup (this one leaves it)."""
        own = _cpuacct_of("self")
        if self.folder is None or own is None:
            yield
            return
        (self.folder / "cgroup.procs").write_text(str(os.getpid()))
        try:
            yield
        finally:
            (CPUACCT / own.lstrip("/") / "cgroup.procs").write_text(str(os.getpid()))

    def start(self, roots: list[int]) -> None:
        """From now: the base of the service's counter, and the slot cgroups' watch."""
        self.roots = roots
        self._sample(first=True)  # every process in its role's cgroup, then the bases
        self.base = cgroup_seconds(self.folder) if self.folder else None
        self.role_base = {role: cgroup_seconds(folder) or 0.0
                          for role, folder in self.roles.items()}
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _tree(self) -> dict[int, str]:
        """The service's processes now, each with its role."""
        below, ticks = _processes()
        found: dict[int, str] = {}
        todo = [(root, API) for root in self.roots if root in ticks]
        while todo:
            pid, inherited = todo.pop()
            if pid in found:
                continue
            found[pid] = role = _role(pid, inherited)
            todo.extend((child, role) for child in below.get(pid, ()))
        return found

    def _sample(self, first: bool = False) -> None:
        for pid, role in self._tree().items():
            slot = slot_cgroup(pid)
            if slot is None:
                if pid not in self.moved and role in self.roles:
                    with contextlib.suppress(OSError):  # gone already
                        (self.roles[role] / "cgroup.procs").write_text(str(pid))
                        self.moved.add(pid)
                continue
            self.slot_role.setdefault(slot, role)
            if slot not in self.slots:
                used = cgroup_seconds(slot)
                if used is not None:  # a slot made during the rush counts from its start
                    self.slots[slot] = (used if first else 0.0, used)
        for slot, (base, _) in list(self.slots.items()):
            used = cgroup_seconds(slot)
            if used is not None:
                self.slots[slot] = (base, used)

    def _watch(self) -> None:
        while not self._stop.wait(EVERY):
            self._sample()

    def stop(self) -> float | None:
        """The service's CPU seconds since start() (None where it cannot be measured)."""
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._sample()
        if self.folder is None or self.base is None:
            return None
        own = (cgroup_seconds(self.folder) or 0.0) - self.base
        return own + sum(last - base for base, last in self.slots.values())

    def split(self) -> dict[str, float]:
        """After stop(): the seconds of each role's own processes, of each worker's sandboxes,
        and what stayed in the service's cgroup unmoved (processes that started and ended
        between two looks at the tree before their parent was moved)."""
        if self.folder is None or self.base is None:
            return {}
        out = {role: (cgroup_seconds(folder) or 0.0) - self.role_base[role]
               for role, folder in self.roles.items()}
        for slot, (base, last) in self.slots.items():
            name = f"{self.slot_role.get(slot, LIVE)}'s sandboxes"
            out[name] = out.get(name, 0.0) + last - base
        own = (cgroup_seconds(self.folder) or 0.0) - self.base
        out["unmoved"] = own - sum(out[role] for role in self.roles)
        return out

    def remove(self, wait: float = 30.0) -> None:
        """Remove the cgroups once the service's last processes have left them."""
        deadline = time.monotonic() + wait
        for folder in [*self.roles.values(), self.folder]:
            while folder is not None and time.monotonic() < deadline:
                try:
                    folder.rmdir()
                    break
                except OSError:  # busy: a stopped service's processes still exiting
                    time.sleep(0.5)
