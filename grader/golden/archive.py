"""Golden sets as bytes: the archive the service keeps in its database, so any worker host can
grade with the active set.

An archive is a tar (optionally gzipped) holding a golden-set folder's `manifest.json` and
`outputs.npz`, at the top or inside one folder, as `mlpgrade reference generate` writes them.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.errors import GoldenSetError, GraderError
from grader.golden.store import GoldenSet, load_golden

FILES = ("manifest.json", "outputs.npz")
MAX_MEMBER_BYTES = 256 * 1024 * 1024


class GoldenArchiveError(GraderError):
    """The uploaded archive is not a golden set of that assignment (the instructor's to fix)."""


def pack_golden(folder: Path) -> bytes:
    """A gzipped tar of a golden-set folder's two files."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in FILES:
            tar.add(folder / name, arcname=name)
    return buf.getvalue()


def unpack_golden(data: bytes, dest: Path) -> Path:
    """Extract the two files of an archive into `dest` (created) and return it."""
    try:
        return _unpack(data, dest)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise GoldenArchiveError(f"cannot read the archive: {exc}") from exc


def _unpack(data: bytes, dest: Path) -> Path:
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    except tarfile.TarError as exc:
        raise GoldenArchiveError(f"not a tar archive: {exc}") from exc
    found: dict[str, tarfile.TarInfo] = {}
    with tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if member.isfile() and name in FILES and len(Path(member.name).parts) <= 2:
                if member.size > MAX_MEMBER_BYTES:
                    raise GoldenArchiveError(f"{member.name} is too large")
                found[name] = member
        missing = [n for n in FILES if n not in found]
        if missing:
            raise GoldenArchiveError(f"the archive lacks {', '.join(missing)}")
        dest.mkdir(parents=True, exist_ok=True)
        for name, member in found.items():
            (dest / name).write_bytes(tar.extractfile(member).read())
    return dest


def inspect_golden(data: bytes, assignment: str) -> dict[str, Any]:
    """The manifest of an uploaded archive, after checking it loads, matches its sha256 and is
    for `assignment`; GoldenArchiveError otherwise."""
    with tempfile.TemporaryDirectory(prefix="mlpgrade-golden-") as tmp:
        folder = unpack_golden(data, Path(tmp) / "set")
        try:
            golden = load_golden(folder)
        except GoldenSetError as exc:
            raise GoldenArchiveError(str(exc)) from exc
    if golden.assignment != assignment:
        raise GoldenArchiveError(f"this golden set is for {golden.assignment}, not {assignment}")
    return golden.manifest


#: The sets this process has loaded, by folder, with the identity of their files then (inode,
#: size, modification time): a worker grades with a set it read and checked once, not again for
#: every hand-in (≈ 40 ms of reading and hashing each); a file replaced or changed since is read
#: and checked again. At most KEPT_SETS.
_LOADED: dict[Path, tuple[tuple, GoldenSet]] = {}
KEPT_SETS = 8


def _files_now(folder: Path) -> tuple:
    return tuple((st.st_ino, st.st_size, st.st_mtime_ns)
                 for st in (os.stat(folder / name) for name in FILES))


def _load_kept(folder: Path) -> GoldenSet:
    """load_golden(folder), from this process's memory while its files are unchanged."""
    try:
        now = _files_now(folder)
    except OSError:
        return load_golden(folder)  # says what is missing
    kept = _LOADED.get(folder)
    if kept is not None and kept[0] == now:
        return kept[1]
    golden = load_golden(folder)
    for named in golden.outputs.values():  # shared by every grading from now on: read-only
        for value in named.values():
            if hasattr(value, "flags"):
                value.flags.writeable = False
    _LOADED.pop(folder, None)
    _LOADED[folder] = (now, golden)
    while len(_LOADED) > KEPT_SETS:
        _LOADED.pop(next(iter(_LOADED)))
    return golden


def materialize(*, root: Path, assignment: str, version: str,
                archive: Callable[[], bytes]) -> GoldenSet:
    """The golden set `version` from its archive, extracted once per host under
    `root/<assignment>/<version>/` (a cache: nothing there is marked current); load_golden
    checks its sha256 whenever it reads the folder, once per process while the folder's files
    stay the same (`_load_kept`). `archive` is called for the archive's bytes only when this
    host has not extracted that version yet. GoldenSetError when the archive is not that set."""
    target = root / assignment / version
    if not (target / "manifest.json").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
        try:
            unpack_golden(archive(), work)
        except GoldenArchiveError as exc:
            shutil.rmtree(work, ignore_errors=True)
            raise GoldenSetError(f"golden set {assignment} {version}: {exc}") from exc
        try:
            os.replace(work, target)
        except OSError:  # another process of this host got there first
            shutil.rmtree(work, ignore_errors=True)
    golden = _load_kept(target)
    if (golden.assignment, golden.version) != (assignment, version):
        raise GoldenSetError(f"the archive of {assignment} {version} holds "
                             f"{golden.assignment} {golden.version}")
    return golden
