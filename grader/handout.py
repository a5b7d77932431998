"""`mlpgrade handout`: the starter code students begin from, or our solution as a ready tar."""

from __future__ import annotations

from pathlib import Path

from grader.fixtures import make_tar, reference_files, starter_files, write_tree
from grader.rubric import Assignment


def write_handout(a: Assignment, out: Path, *, solution: bool = False) -> Path:
    """Write the starter tree (with create_tarball.sh) into `out`, or `out/handin.tar` of ours."""
    out.mkdir(parents=True, exist_ok=True)
    if solution:
        path = out / "handin.tar"
        path.write_bytes(make_tar(reference_files(a), a.handin))
        return path
    files = starter_files(a)
    script = a.folder / "starter" / "create_tarball.sh"
    if script.is_file():
        files["create_tarball.sh"] = script.read_text()
    write_tree(files, out)
    return out
