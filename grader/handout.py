"""`mlpgrade handout`: the starter code students begin from, or our solution as a ready tar."""

from __future__ import annotations

import io
import tarfile
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
    write_tree(handout_files(a), out)
    return out


def handout_files(a: Assignment) -> dict[str, str]:
    """The starter tree students begin from, with its create_tarball.sh."""
    files = starter_files(a)
    script = a.folder / "starter" / "create_tarball.sh"
    if script.is_file():
        files["create_tarball.sh"] = script.read_text()
    return files


def handout_tar(a: Assignment, folder: str = "handout") -> bytes:
    """The handout as one tar (everything under `folder/`, the script executable), the same
    files `mlpgrade handout` writes."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for path, text in sorted(handout_files(a).items()):
            data = text.encode()
            info = tarfile.TarInfo(f"{folder}/{path}")
            info.size, info.mode, info.mtime = len(data), 0o755 if path.endswith(".sh") \
                else 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()
