"""What a run leaves behind: the files of its output area, copied (`OutputArea`) or received
from the box (`ReceivedOutput`) under the job's caps. (Its stdout and stderr come through the
zygote's frames, capped by the job's supervisor: `grader/sandbox/slot.py`.)
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import subprocess
import tempfile
from pathlib import Path

from grader.errors import InfrastructureError

#: Files of the output area copied back at most (the runner writes three per test).
MAX_COLLECTED = 1024


#: Memory-backed folder for a job's output folder, when the sandbox fills that folder only by
#: copying from its own size-capped area (`Sandbox.copies_output`): the runner's files (three a
#: test) are then written, read and removed without touching the disk (≈ 0.3-1 ms a file on
#: this ext4 against microseconds).
MEMORY_DIR = Path("/dev/shm")
MEMORY_ROOM = 16


def output_parent(copies_output: bool, disk_mb: int) -> str | None:
    """Where a job's output folder is made: MEMORY_DIR when the sandbox copies into it (so no
    hand-in can write more there than its area's `disk_mb`) and it has room for MEMORY_ROOM
    such areas (a container's /dev/shm may be 64 MiB: a full area must never fail our copy),
    else the default temporary folder."""
    if not copies_output:
        return None
    try:
        st = os.statvfs(MEMORY_DIR)
    except OSError:
        return None
    room = st.f_bavail * st.f_frsize >= MEMORY_ROOM * disk_mb * 1024 * 1024
    return str(MEMORY_DIR) if room and os.access(MEMORY_DIR, os.W_OK) else None


class OutputArea:
    """Where the runner writes. As root: a tmpfs of `disk_mb` per job, so the disk a job can fill
    is truly capped; its regular files are copied into the job's output folder afterwards.
    Otherwise the output folder itself."""

    def __init__(self, output_dir: Path, disk_mb: int, uid: int, root: bool) -> None:
        self.output_dir, self.disk_mb, self.mounted = output_dir, disk_mb, False
        if not root:
            self.path = output_dir
            return
        self.path = Path(tempfile.mkdtemp(prefix="mlpgrade-area-"))
        opts = f"size={disk_mb}m,nr_inodes=4096,mode=0700,uid={uid},gid={uid},noexec,nosuid,nodev"
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(self.path)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            os.rmdir(self.path)
            raise InfrastructureError(f"cannot mount the job's output tmpfs: {result.stderr}")
        self.mounted = True

    def full(self) -> bool:
        """Whether the job filled its area (less than 64 KiB or no inode left)."""
        if not self.mounted:
            return False
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize < 64 * 1024 or st.f_favail == 0

    def collect(self) -> None:
        """Copy the regular files (no links, no folders, at most MAX_COLLECTED of them) of the
        area into the output folder; the host reads only those the runner vouched for."""
        if self.path == self.output_dir:
            return
        with os.scandir(self.path) as entries:
            for count, entry in enumerate(entries):
                if count >= MAX_COLLECTED:
                    break
                if entry.is_file(follow_symlinks=False):
                    _copy(entry.path, os.path.join(self.output_dir, entry.name))

    def cleanup(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
            self.mounted = False
            try:
                os.rmdir(self.path)
            except OSError:
                pass


def _copy(source: str, dest: str) -> None:
    """One regular file of the area, copied by the kernel (no links followed, no FIFO opened
    for good: every process of the job is dead and the area is the job's tmpfs, so the file is
    at most the area's size)."""
    src = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        size = os.fstat(src).st_size
        dst = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            offset = 0
            while offset < size:
                sent = os.sendfile(dst, src, offset, size - offset)
                if sent == 0:
                    break
                offset += sent
        finally:
            os.close(dst)
    finally:
        os.close(src)


class ReceivedOutput:
    """The files a box sends of its own size-capped output area (`zygote.send_out`, where the
    host could mount none: a container without root), written into the job's output folder
    under an OutputArea's caps: names the runner could have written, at most MAX_COLLECTED
    files, at most the job's disk size together. The host reads only what the runner vouched
    for among them."""

    NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")

    def __init__(self, folder: Path, disk_mb: int) -> None:
        self.folder, self.room, self.names = folder, disk_mb * 1024 * 1024, set()

    def take(self, frame: dict) -> None:
        """One frame {file, first, data (base64)}: a file's first piece or the next one."""
        name = frame.get("file")
        if not isinstance(name, str) or not self.NAME.fullmatch(name):
            return
        try:
            data = base64.b64decode(frame.get("data") or "", validate=True)
        except (binascii.Error, ValueError, TypeError):
            return
        if frame.get("first") is True:
            if name in self.names or len(self.names) >= MAX_COLLECTED:
                return
            self.names.add(name)
        elif name not in self.names:
            return
        data = data[:max(0, self.room)]
        self.room -= len(data)
        fd = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW,
                     0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
