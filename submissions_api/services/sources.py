"""The Python sources of a stored hand-in, read (never extracted) for the TAs' read-only view."""

from __future__ import annotations

import io
import tarfile
from pathlib import PurePosixPath

from sqlalchemy.orm import Session

from submissions_api.store import crud
from submissions_api.store.models import Submission

SOURCE_DIRS = ("hw1", "mytorch")
MAX_FILE_BYTES = 200_000
MAX_FILES = 60


def handin_sources(session: Session, sub: Submission) -> list[tuple[str, str]]:
    """(path, text) of each source file of the submission's hand-in, sorted."""
    return read_sources(crud.get_blob(session, sha256=sub.blob_sha256) or b"")


def read_sources(data: bytes) -> list[tuple[str, str]]:
    """(path, text) of each regular `.py` file under hw1/ or mytorch/ (at any wrapper depth),
    sorted; oversized files are truncated and unreadable archives give an empty list."""
    found: list[tuple[str, str]] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for member in tar:
                if len(found) >= MAX_FILES:
                    break
                path = _source_path(member)
                if path is None:
                    continue
                handle = tar.extractfile(member)
                raw = handle.read(MAX_FILE_BYTES + 1) if handle else b""
                text = raw[:MAX_FILE_BYTES].decode("utf-8", errors="replace")
                if len(raw) > MAX_FILE_BYTES:
                    text += "\n… (truncated)"
                found.append((path, text))
    except (tarfile.TarError, OSError, EOFError):
        return []
    return sorted(found)


def _source_path(member: tarfile.TarInfo) -> str | None:
    if not member.isfile() or not member.name.endswith(".py"):
        return None
    parts = [p for p in PurePosixPath(member.name).parts if p not in (".", "/")]
    for i, part in enumerate(parts[:-1]):
        if part in SOURCE_DIRS and ".." not in parts:
            return "/".join(parts[i:])
    return None
