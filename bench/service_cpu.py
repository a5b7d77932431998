"""The CPU seconds a service spent, on a machine other sessions share: its processes' cpuacct
cgroup (what they start inherits it, exited processes included) plus the sandboxes' own cgroups
(grader/sandbox/linux/cgroup.py moves a job's processes into `mlpgrade/<id>`, out of ours),
found by walking the service's processes twice a second. Root and cgroup v1 cpuacct only;
elsewhere `stop()` returns None."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from worker.admission import CPUACCT, cgroup_seconds, process_tree, slot_cgroup

EVERY = 0.5


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
        self.base = cgroup_seconds(self.folder) if self.folder else None
        self._sample(first=True)
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _sample(self, first: bool = False) -> None:
        tree = {pid for root in self.roots for pid in process_tree(root)}
        for pid in tree:
            slot = slot_cgroup(pid)
            if slot is not None and slot not in self.slots:
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

    def remove(self, wait: float = 30.0) -> None:
        """Remove the cgroup once the service's last processes have left it."""
        deadline = time.monotonic() + wait
        while self.folder is not None and time.monotonic() < deadline:
            try:
                self.folder.rmdir()
                return
            except OSError:  # busy: a stopped service's processes still exiting
                time.sleep(0.5)
