"""Hand-ins we make ourselves: the reference, the starter, the bundled known mistakes, as tars.

A known mistake ("bug") is data in `assignments/<family>/bugs.toml`: a text substitution in one
reference file, the hint a student should get, and the tests it must fail. The canary grades each
one and expects exactly those failures.
"""

from __future__ import annotations

import io
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from grader.rubric import Assignment
from grader.errors import GraderError
from reference import HANDIN_ROOT

Files = dict[str, str]  # relative path (hw1/hw1.py) → source text


@dataclass(frozen=True)
class Bug:
    id: str
    hint: str
    file: str
    find: str
    replace: str
    fails: tuple[str, ...]


def read_tree(root: Path) -> Files:
    """The .py files under root's hw1/ and mytorch/ (and any other text files they hold)."""
    files: Files = {}
    for top in ("hw1", "mytorch"):
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".sh"):
                files[path.relative_to(root).as_posix()] = path.read_text()
    return files


def reference_files() -> Files:
    return read_tree(HANDIN_ROOT)


def starter_files(a: Assignment) -> Files:
    return read_tree(a.family_dir / "starter")


def load_bugs(a: Assignment) -> list[Bug]:
    path = a.family_dir / "bugs.toml"
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


def make_tar(files: Files) -> bytes:
    """A handin.tar as `tar -cvf handin.tar hw1 mytorch` makes it: two top-level folders."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for top in ("hw1", "mytorch"):
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
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if name.endswith(".sh"):
            path.chmod(0o755)
    return root
