"""Golden sets as archives in the database, so any worker host can use the active one.

An archive is a tar (optionally gzipped) holding a golden-set folder's `manifest.json` and
`outputs.npz`, at the top or inside one folder, as `mlpgrade reference generate` writes them.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
import zlib
from pathlib import Path

FILES = ("manifest.json", "outputs.npz")
MAX_MEMBER_BYTES = 256 * 1024 * 1024


class GoldenArchiveError(ValueError):
    """The uploaded archive is not a golden set (the instructor's to fix)."""


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


def inspect_golden(data: bytes, assignment: str) -> dict:
    """The manifest of an uploaded archive, after checking it loads, matches its sha256 and is
    for `assignment`."""
    from grader.errors import GraderError
    from grader.golden import load_golden

    with tempfile.TemporaryDirectory(prefix="mlpgrade-golden-") as tmp:
        folder = unpack_golden(data, Path(tmp) / "set")
        try:
            golden = load_golden(folder)
        except (GraderError, KeyError, json.JSONDecodeError) as exc:
            raise GoldenArchiveError(str(exc)) from exc
    if golden.assignment != assignment:
        raise GoldenArchiveError(f"this golden set is for {golden.assignment}, not {assignment}")
    return golden.manifest
