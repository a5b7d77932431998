"""Hand-ins we make ourselves: the reference, the starter, the bundled known mistakes, as tars.

A known mistake ("bug") is data in the assignment folder's `bugs.toml`: a text substitution in one
reference file, the hint a student should get, and the tests it must fail. The canary grades each
one and expects exactly those failures.
"""

from __future__ import annotations

import io
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GraderError
from grader.rubric import Assignment, HandinLayout

Files = dict[str, str]  # relative path in the hand-in (folder/module.py) → source text


@dataclass(frozen=True)
class Bug:
    """One known mistake of bugs.toml."""

    id: str
    hint: str
    file: str
    find: str
    replace: str
    fails: tuple[str, ...]


def read_tree(root: Path, layout: HandinLayout) -> Files:
    """The .py and .sh files under root's hand-in folders."""
    files: Files = {}
    for top in layout.folders:
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".sh"):
                files[path.relative_to(root).as_posix()] = path.read_text()
    return files


def reference_files(a: Assignment) -> Files:
    """Our reference hand-in (the rubric's `[handin] reference`)."""
    return read_tree(a.reference_dir, a.handin)


def starter_files(a: Assignment) -> Files:
    """The starter code students begin from (`starter/` of the assignment folder)."""
    return read_tree(a.folder / "starter", a.handin)


def load_bugs(a: Assignment) -> list[Bug]:
    path = a.folder / "bugs.toml"
    raw = tomllib.loads(path.read_text()) if path.is_file() else {"bugs": []}
    known = {t.id for t in a.tests}
    return [Bug(id=b["id"], hint=b["hint"], file=b["file"], find=b["find"], replace=b["replace"],
                fails=tuple(t for t in b["fails"] if t in known))
            for b in raw["bugs"]]


def apply_bug(files: Files, bug: Bug) -> Files:
    """The files with the bug's substitution made; the text to find must occur exactly once."""
    text = files.get(bug.file)
    if text is None or text.count(bug.find) != 1:
        raise GraderError(f"bug {bug.id}: {bug.find!r} must occur exactly once in {bug.file}")
    return {**files, bug.file: text.replace(bug.find, bug.replace)}


def make_tar(files: Files, layout: HandinLayout | None = None) -> bytes:
    """A handin.tar as the students' tar command makes it: the layout's top-level folders (by
    default those of the files), then the files."""
    tops = layout.folders if layout else sorted({n.split("/")[0] for n in files if "/" in n})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for top in tops:
            info = tarfile.TarInfo(top)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1580000000
            tar.addfile(info)
        for name in sorted(files):
            data = files[name].encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1580000000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_tree(files: Files, root: Path) -> Path:
    """Write `files` under `root` (scripts executable); returns root."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if name.endswith(".sh"):
            path.chmod(0o755)
    return root
