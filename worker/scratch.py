"""A worker process's scratch folder: everything its jobs make in the temporary folder (the warm
sandboxes' folders and output tmpfs mounts, staged code and data, golden-set work) goes under
one folder of its own, `$TMPDIR/mlpgrade-worker-<pid>-<random>`, so nothing is left behind.

The folder holds an flock'd `.lock` for as long as the worker (or any process it forked) lives.
On a graceful stop the worker removes its folder (unmounting what is mounted in it); at start it
removes the folders whose lock nobody holds: what a worker of this host that died (kill -9, a
crash, a power cut) left. A live worker's folder is locked, so it is never touched.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "mlpgrade-worker-"
LOCK = ".lock"


@dataclass
class Scratch:
    """This process's scratch folder, locked; `removed`: the dead workers' folders swept."""

    path: Path
    lock: int
    removed: list[Path] = field(default_factory=list)

    def close(self) -> None:
        """Remove the folder and what is mounted in it (a graceful stop)."""
        remove_folder(self.path)
        os.close(self.lock)


def claim_scratch(parent: Path | None = None) -> Scratch:
    """Sweep the dead workers' folders under `parent` (the temporary folder), then make and lock
    this process's, and make it the temporary folder of this process and its children."""
    parent = Path(parent or tempfile.gettempdir())
    removed = sweep(parent)
    # made under another name, then renamed once locked: a worker sweeping at the same moment
    # never sees it unlocked
    starting = Path(tempfile.mkdtemp(prefix=f".{PREFIX}", dir=parent))
    lock = os.open(starting / LOCK, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    path = parent / f"{PREFIX}{os.getpid()}-{starting.name.rsplit('-', 1)[-1]}"
    os.rename(starting, path)
    path.chmod(0o755)  # a slot's uid must reach the staged folders inside
    os.environ["TMPDIR"] = str(path)
    tempfile.tempdir = str(path)
    return Scratch(path=path, lock=lock, removed=removed)


def sweep(parent: Path) -> list[Path]:
    """Remove every worker folder under `parent` whose lock nobody holds; the folders removed."""
    removed = []
    for folder in sorted(parent.glob(f"{PREFIX}*")):
        if folder.is_dir() and not _locked(folder / LOCK):
            remove_folder(folder)
            removed.append(folder)
    return removed


def _locked(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False  # no lock: nobody can hold it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def mounts_under(folder: Path) -> list[str]:
    """The mount points inside `folder` (deepest first), from /proc/self/mountinfo."""
    root = str(folder.resolve()) + os.sep
    points = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        point = line.split(" ")[4].encode().decode("unicode_escape")  # \040 for a space
        if point.startswith(root):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def remove_folder(folder: Path) -> None:
    """Unmount what is mounted inside `folder` (lazily: a box may still hold it), remove it."""
    for point in mounts_under(folder):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    shutil.rmtree(folder, ignore_errors=True)
