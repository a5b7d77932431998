"""Reading hand-ins to compare: what the grader itself would read of them.

A hand-in is a `handin.tar` (or `.tar.gz`) or a folder holding the layout's folders; a folder is
packed into a tar in memory so that `grader.intake.list_sources` reads both by the same rules.
An archive of earlier semesters is a folder (or a tar/zip of one) whose entries are hand-ins, each
named by its student: `alice.tar`, `bob/` (holding `hw1/`, `mytorch/`), `carol.tar.gz`.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import zipfile
from pathlib import Path

from grader.errors import GraderError
from grader.intake import list_sources
from grader.rubric import HandinLayout

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def folder_tar(folder: Path) -> bytes:
    """The folder's files as tar bytes (paths relative to the folder)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buffer.getvalue()


def handin_bytes(path: Path) -> bytes:
    """A hand-in (tar or folder) as the tar bytes intake reads."""
    if path.is_dir():
        return folder_tar(path)
    if path.is_file():
        return path.read_bytes()
    raise GraderError(f"{path}: no such hand-in (a handin.tar or a folder holding it)")


def read_sources(path: Path, layout: HandinLayout) -> dict[str, str]:
    """The Python sources intake keeps of a hand-in (path → text); empty when it refuses it."""
    sources = list_sources(handin_bytes(path), layout=layout)
    return {name: text for name, text in sources.items() if name.endswith(".py")}


def _student_name(path: Path) -> str:
    name = path.name
    for suffix in (*ARCHIVE_SUFFIXES, ".zip"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _entries(folder: Path, layout: HandinLayout) -> dict[str, Path]:
    """Student → hand-in path of an unpacked archive folder (one wrapper folder allowed)."""
    children = [p for p in sorted(folder.iterdir()) if not p.name.startswith(".")]
    if len(children) == 1 and children[0].is_dir() and not any(
            (children[0] / top).is_dir() for top in layout.folders):
        return _entries(children[0], layout)
    return {_student_name(p): p for p in children
            if p.is_dir() or p.name.endswith(ARCHIVE_SUFFIXES)}


def _unpack(path: Path, dest: Path) -> None:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            archive.extractall(dest)
        return
    try:
        with tarfile.open(path) as archive:
            archive.extractall(dest, filter="data")
    except tarfile.TarError as exc:
        raise GraderError(f"{path}: not a folder, tar or zip of hand-ins ({exc})") from None


def read_archive(path: Path, layout: HandinLayout) -> dict[str, dict[str, str]]:
    """Student → their sources, of an archive of earlier hand-ins (folder, tar or zip)."""
    if path.is_dir():
        return {student: read_sources(p, layout)
                for student, p in _entries(path, layout).items()}
    with tempfile.TemporaryDirectory(prefix="mlpgrade-archive-") as tmp:
        _unpack(path, Path(tmp))
        return read_archive(Path(tmp), layout)
