"""`mlpgrade handout`: the starter code students begin from, or our solution as a ready tar."""

from __future__ import annotations

from pathlib import Path

from grader.rubric import Assignment
from grader.handins import make_tar, reference_files, starter_files, write_tree


def write_handout(a: Assignment, out: Path, *, solution: bool = False) -> Path:
    """Write the starter tree (with create_tarball.sh) into `out`, or `out/handin.tar` of ours."""
    out.mkdir(parents=True, exist_ok=True)
    if solution:
        path = out / "handin.tar"
        path.write_bytes(make_tar(reference_files()))
        return path
    files = starter_files(a)
    if a.family_dir.joinpath("starter", "create_tarball.sh").is_file():
        files["create_tarball.sh"] = (a.family_dir / "starter" / "create_tarball.sh").read_text()
    write_tree(files, out)
    return out
