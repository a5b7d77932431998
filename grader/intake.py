"""Safe intake of an uploaded hand-in, before any of its code runs.

Accepts a `.tar` or `.tar.gz` (by content, not by name) made by `tar -cvf handin.tar hw1 mytorch`.
Refuses, as a SubmissionError a student understands, anything that is not such an archive or that
could escape or flood the folder it is unpacked into. Keeps only regular files under `hw1/` and
`mytorch/`, and drops the junk real archives carry (`__pycache__`, `.pyc`, plots, editor folders).
Sizes are counted while reading, never trusted from headers alone.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.errors import SubmissionError

REQUIRED_FILES = ("mytorch/activation.py", "mytorch/loss.py", "mytorch/linear.py",
                  "mytorch/batchnorm.py", "hw1/hw1.py", "hw1/mc.py")
TOP_FOLDERS = ("hw1", "mytorch")
JUNK_SUFFIXES = (".pyc", ".pyo", ".png", ".jpg", ".pdf", ".DS_Store")


#: The one upload size limit's default (the service's `upload_max_bytes` defaults to it and
#: refuses bigger uploads at the door; intake refuses them too, for the command line).
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class IntakeLimits:
    compressed_bytes: int = DEFAULT_MAX_BYTES
    uncompressed_bytes: int = 20 * 1024 * 1024
    file_bytes: int = 5 * 1024 * 1024
    members: int = 500


@dataclass(frozen=True)
class IntakeReport:
    root: Path
    files: tuple[str, ...]
    dropped: tuple[str, ...]
    missing: tuple[str, ...]
    notes: tuple[str, ...] = ()


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _open_archive(data: bytes, limits: IntakeLimits) -> bytes:
    """The uncompressed tar bytes (inflated under a cap)."""
    if len(data) > limits.compressed_bytes:
        raise SubmissionError(f"Your upload is {_mb(len(data))}; the limit is "
                              f"{_mb(limits.compressed_bytes)}. Hand in only hw1/ and mytorch/ "
                              "(no data files, no plots).")
    if data[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(data, limits.uncompressed_bytes + 1)
        except zlib.error as exc:
            raise SubmissionError(f"Your upload looks gzip-compressed but is damaged ({exc}).")
        if len(raw) > limits.uncompressed_bytes or inflater.unconsumed_tail:
            raise SubmissionError("Your archive unpacks to more than "
                                  f"{_mb(limits.uncompressed_bytes)}; the limit is that.")
        return raw
    return data


def _relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        raise SubmissionError(f"Your archive holds an absolute path ({name!r}). Make it with "
                              "`tar -cvf handin.tar hw1 mytorch` from the handout folder.")
    if ".." in path.parts:
        raise SubmissionError(f"Your archive holds a path with '..' ({name!r}); that is not "
                              "allowed.")
    return PurePosixPath(*[p for p in path.parts if p not in ("", ".")])


def _is_junk(parts: tuple[str, ...]) -> bool:
    return (any(p.startswith(".") or p == "__pycache__" for p in parts)
            or parts[-1].endswith(JUNK_SUFFIXES))


def _members(raw: bytes, limits: IntakeLimits) -> list[tarfile.TarInfo]:
    try:
        tar = tarfile.open(fileobj=io.BytesIO(raw), mode="r:")
        members = []
        for member in tar:
            members.append(member)
            if len(members) > limits.members:
                raise SubmissionError(f"Your archive has more than {limits.members} entries; "
                                      "hand in only hw1/ and mytorch/.")
        return members
    except (tarfile.TarError, EOFError, gzip.BadGzipFile) as exc:
        raise SubmissionError("Your upload is not a tar archive (or it is damaged): make it "
                              f"with `tar -cvf handin.tar hw1 mytorch` ({exc}).") from None


def _strip_wrapper(paths: list[PurePosixPath]) -> tuple[int, str | None]:
    """How many leading folders to drop: 1 when one wrapper folder holds hw1/ and mytorch/."""
    tops = {p.parts[0] for p in paths if p.parts}
    if tops & set(TOP_FOLDERS) or len(tops) != 1:
        return 0, None
    seconds = {p.parts[1] for p in paths if len(p.parts) > 1}
    if set(TOP_FOLDERS) <= seconds:
        wrapper = tops.pop()
        return 1, f"Your archive wraps hw1/ and mytorch/ in a folder {wrapper!r}; we used them."
    return 0, None


def unpack_handin(data: bytes, dest: Path, *, limits: IntakeLimits = IntakeLimits(),
                  max_bytes: int | None = None) -> IntakeReport:
    """Unpack the hand-in bytes into dest/handin and report what was kept, dropped and missing.

    `max_bytes`, when given, is the upload limit instead of `limits.compressed_bytes`."""
    if max_bytes is not None:
        limits = dataclasses.replace(limits, compressed_bytes=max_bytes)
    raw = _open_archive(data, limits)
    members = _members(raw, limits)
    paths = [_relative(m.name) for m in members]
    strip, note = _strip_wrapper(paths)
    root = dest / "handin"
    root.mkdir(parents=True)
    for top in TOP_FOLDERS:
        (root / top).mkdir(mode=0o755)
    kept, dropped, total = [], [], 0
    tar = tarfile.open(fileobj=io.BytesIO(raw), mode="r:")
    for member, path in zip(members, paths):
        parts = path.parts[strip:]
        if member.issym() or member.islnk():
            raise SubmissionError(f"Your archive holds a link ({member.name!r}); hand in plain "
                                  "files only.")
        if member.ischr() or member.isblk() or member.isfifo() or member.isdev():
            raise SubmissionError(f"Your archive holds a device or pipe ({member.name!r}); hand "
                                  "in plain files only.")
        if not parts or member.isdir():
            continue
        if not member.isfile():
            raise SubmissionError(f"Your archive holds {member.name!r}, which is not a plain "
                                  "file.")
        name = "/".join(parts)
        if parts[0] not in TOP_FOLDERS or len(parts) < 2 or _is_junk(parts):
            dropped.append(name)
            continue
        body = tar.extractfile(member).read(limits.file_bytes + 1)
        if len(body) > limits.file_bytes:
            raise SubmissionError(f"{name} is larger than {_mb(limits.file_bytes)}; the limit "
                                  "per file is that.")
        total += len(body)
        if total > limits.uncompressed_bytes:
            raise SubmissionError("Your archive unpacks to more than "
                                  f"{_mb(limits.uncompressed_bytes)}; the limit is that.")
        target = root.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        target.write_bytes(body)
        target.chmod(0o644)
        kept.append(name)
    missing = tuple(f for f in REQUIRED_FILES if f not in kept)
    if len(missing) == len(REQUIRED_FILES):
        raise SubmissionError("Your archive has none of the files we grade ("
                              + ", ".join(REQUIRED_FILES) + "). Make it with "
                              "`tar -cvf handin.tar hw1 mytorch` from the handout folder.")
    return IntakeReport(root=root, files=tuple(kept), dropped=tuple(dropped), missing=missing,
                        notes=(note,) if note else ())
