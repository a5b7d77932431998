"""Finding, killing and reaping the processes a job leaves behind.

bwrap can return before its pid namespace is torn down, and a job's daemons are re-parented
away from it: so the worker is a child subreaper (orphans of the sandbox become its children),
and a job ends with "kill until none is left" over the job's own uid or cgroup, then a reap.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def alive(pid: int) -> bool:
    """Whether a process of this pid exists (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def processes_of(*uids: int) -> list[int]:
    """Live (not zombie) processes whose real uid is one of `uids` (one pass over /proc)."""
    return _live(r"^Uid:\s+(\d+)", *uids)


def session_processes(sid: int) -> list[int]:
    """Live (not zombie) processes of session `sid`."""
    return _live(r"^NSsid:\s+(\d+)", sid)


def _live(field: str, *values: int) -> list[int]:
    """Live processes whose /proc/<pid>/status has `field` (a pattern, its first number) equal to
    one of `values`."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        match = re.search(field, status, re.M)
        state = re.search(r"^State:\s+(\S)", status, re.M)
        if match and int(match.group(1)) in values and not (state and state.group(1) == "Z"):
            pids.append(int(entry.name))
    return pids


def kill_pids(pids: list[int | None]) -> int:
    """SIGKILL each pid that is still there; returns how many were signalled."""
    killed = 0
    for pid in pids:
        if not pid:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except (ProcessLookupError, PermissionError):
            pass
    return killed


def kill_until_none(list_pids: Callable[[], list[int]], timeout: float = 5.0) -> list[int]:
    """SIGKILL whatever `list_pids()` lists, reaping as we go, until it lists nothing (a fork
    bomb keeps forking between two looks). Returns the survivors: empty unless `timeout` ran
    out."""
    deadline = time.monotonic() + timeout
    while True:
        pids = list_pids()
        if not pids:
            return []
        kill_pids(pids)
        reap_children()
        if time.monotonic() > deadline:
            return list_pids()
        time.sleep(0.01)


def reap_children() -> None:
    """Collect any exited child (as a subreaper, orphans of the sandbox land here)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def become_subreaper() -> None:
    """Orphans of sandboxed processes are re-parented to us, so we can reap them."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
