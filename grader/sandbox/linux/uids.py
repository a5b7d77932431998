"""Uid leases: one unprivileged uid per concurrent job (a warm slot holds one for its life).

RLIMIT_NPROC counts the processes of a real uid across every sandbox, so with one shared uid
one job's fork bomb would starve a concurrent job. Each lease is a uid of its own, held by an
flock on /run/mlpgrade/slots/N for as long as its job runs.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

from grader.errors import InfrastructureError
from grader.sandbox.linux.procs import kill_until_none, processes_of

SLOT_UID_BASE = 61000
SLOTS = 32
LOCK_DIR = Path("/run/mlpgrade/slots")


@dataclass
class UidLease:
    """One concurrent sandbox place: an unprivileged uid, held by a lock file."""

    index: int
    uid: int
    lock: int | None

    def release(self) -> None:
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None


def lease_uid(timeout: float = 60.0) -> UidLease:
    """Take a free uid (flock on /run/mlpgrade/slots/N); waits while all are busy."""
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
            return UidLease(index=index, uid=SLOT_UID_BASE + index, lock=fd)
        if time.monotonic() > deadline:
            raise InfrastructureError(f"no free sandbox slot within {timeout:.0f} s")
        time.sleep(0.05)


def kill_uid(uid: int, timeout: float = 5.0) -> None:
    """SIGKILL every process of a slot's uid until none is left."""
    survivors = kill_until_none(lambda: processes_of(uid), timeout)
    if survivors:
        raise InfrastructureError(f"processes of sandbox uid {uid} survive SIGKILL: {survivors}")


def idle_slot_processes() -> list[int]:
    """Processes of slot uids whose slot nobody holds: what a finished job left behind."""
    idle = []
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
            idle.append(SLOT_UID_BASE + index)
        finally:
            os.close(fd)
    return processes_of(*idle) if idle else []
