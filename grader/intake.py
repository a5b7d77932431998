"""Safe intake of an uploaded hand-in, before any of its code runs.

Accepts a `.tar` or `.tar.gz` (by content, not by name) made by the students' tar command (the
assignment's `[handin]` layout names its folders). Refuses, as a SubmissionError a student
understands, anything that is not such an archive or that could escape or flood the folder it is
unpacked into. Keeps only regular files under the layout's folders, and drops the junk real
archives carry (`__pycache__`, `.pyc`, plots, editor folders). Sizes are counted while reading,
never trusted from headers alone. `list_sources` reads an archive by the same rules for the TAs'
source view, so they see exactly the files that were graded.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.errors import SubmissionError
from grader.rubric import HandinLayout

JUNK_SUFFIXES = (".pyc", ".pyo", ".png", ".jpg", ".pdf", ".DS_Store")

#: The one upload size limit's default (the service's `upload_max_bytes` defaults to it and
#: refuses bigger uploads at the door; intake refuses them too, for the command line).
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class IntakeLimits:
    """How much intake reads of one upload."""

    compressed_bytes: int = DEFAULT_MAX_BYTES
    uncompressed_bytes: int = 20 * 1024 * 1024
    file_bytes: int = 5 * 1024 * 1024
    members: int = 500


@dataclass(frozen=True)
class IntakeReport:
    """What intake kept (unpacked under `root`), dropped and found missing."""

    root: Path
    files: tuple[str, ...]
    dropped: tuple[str, ...]
    missing: tuple[str, ...]
    notes: tuple[str, ...] = ()


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _open_archive(data: bytes, limits: IntakeLimits, layout: HandinLayout) -> bytes:
    """The uncompressed tar bytes (inflated under a cap)."""
    if len(data) > limits.compressed_bytes:
        raise SubmissionError(f"Your upload is {_mb(len(data))}; the limit is "
                              f"{_mb(limits.compressed_bytes)}. Hand in only "
                              f"{layout.folders_text} (no data files, no plots).")
    if data[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(data, limits.uncompressed_bytes + 1)
        except zlib.error as exc:
            raise SubmissionError(f"Your upload looks gzip-compressed but is damaged ({exc}).") \
                from None
        if len(raw) > limits.uncompressed_bytes or inflater.unconsumed_tail:
            raise SubmissionError("Your archive unpacks to more than "
                                  f"{_mb(limits.uncompressed_bytes)}; the limit is that.")
        return raw
    return data


def _relative(name: str, layout: HandinLayout) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        raise SubmissionError(f"Your archive holds an absolute path ({name!r}). Make it with "
                              f"`{layout.tar_command}` from the handout folder.")
    if ".." in path.parts:
        raise SubmissionError(f"Your archive holds a path with '..' ({name!r}); that is not "
                              "allowed.")
    return PurePosixPath(*[p for p in path.parts if p not in ("", ".")])


def _is_junk(parts: tuple[str, ...]) -> bool:
    return (any(p.startswith(".") or p == "__pycache__" for p in parts)
            or parts[-1].endswith(JUNK_SUFFIXES))


def _members(raw: bytes, limits: IntakeLimits, layout: HandinLayout) -> list[tarfile.TarInfo]:
    try:
        tar = tarfile.open(fileobj=io.BytesIO(raw), mode="r:")
        members = []
        for member in tar:
            members.append(member)
            if len(members) > limits.members:
                raise SubmissionError(f"Your archive has more than {limits.members} entries; "
                                      f"hand in only {layout.folders_text}.")
        return members
    except (tarfile.TarError, EOFError, gzip.BadGzipFile) as exc:
        raise SubmissionError("Your upload is not a tar archive (or it is damaged): make it "
                              f"with `{layout.tar_command}` ({exc}).") from None


def _strip_wrapper(paths: list[PurePosixPath], layout: HandinLayout) -> tuple[int, str | None]:
    """How many leading folders to drop: 1 when one wrapper folder holds the layout's folders."""
    tops = {p.parts[0] for p in paths if p.parts}
    if tops & set(layout.folders) or len(tops) != 1:
        return 0, None
    seconds = {p.parts[1] for p in paths if len(p.parts) > 1}
    if set(layout.folders) <= seconds:
        wrapper = tops.pop()
        return 1, (f"Your archive wraps {layout.folders_text} in a folder {wrapper!r}; we used "
                   "them.")
    return 0, None


def _check_member(member: tarfile.TarInfo) -> None:
    if member.issym() or member.islnk():
        raise SubmissionError(f"Your archive holds a link ({member.name!r}); hand in plain "
                              "files only.")
    if member.ischr() or member.isblk() or member.isfifo() or member.isdev():
        raise SubmissionError(f"Your archive holds a device or pipe ({member.name!r}); hand "
                              "in plain files only.")


@dataclass
class _Read:
    kept: dict[str, bytes]
    dropped: list[str]
    note: str | None


def _read(data: bytes, layout: HandinLayout, limits: IntakeLimits) -> _Read:
    """Every file intake keeps (name → bytes), what it dropped, and a note; or SubmissionError."""
    raw = _open_archive(data, limits, layout)
    members = _members(raw, limits, layout)
    paths = [_relative(m.name, layout) for m in members]
    strip, note = _strip_wrapper(paths, layout)
    read = _Read(kept={}, dropped=[], note=note)
    for parts, body in _bodies(raw, members, paths, strip, layout, limits):
        name = "/".join(parts)
        if body is None:
            read.dropped.append(name)
        else:
            read.kept[name] = body
    missing = [f for f in layout.required if f not in read.kept]
    if len(missing) == len(layout.required):
        raise SubmissionError("Your archive has none of the files we grade ("
                              + ", ".join(layout.required) + "). Make it with "
                              f"`{layout.tar_command}` from the handout folder.")
    absent = [top for top in layout.folders if any(f.startswith(top + "/") for f in layout.required)
              and not any(name.startswith(top + "/") for name in read.kept)]
    if absent:
        raise SubmissionError(f"Your archive has no {absent[0]}/ folder (it needs "
                              + " and ".join(f"{t}/" for t in layout.folders) + "). Make it "
                              f"with `{layout.tar_command}` from the handout folder.")
    return read


def _bodies(raw: bytes, members: list[tarfile.TarInfo], paths: list[PurePosixPath], strip: int,
            layout: HandinLayout, limits: IntakeLimits
            ) -> Iterator[tuple[tuple[str, ...], bytes | None]]:
    """(path parts, its bytes or None when dropped) of each file, sizes counted."""
    total = 0
    tar = tarfile.open(fileobj=io.BytesIO(raw), mode="r:")
    for member, path in zip(members, paths, strict=True):
        parts = path.parts[strip:]
        _check_member(member)
        if not parts or member.isdir():
            continue
        if not member.isfile():
            raise SubmissionError(f"Your archive holds {member.name!r}, which is not a plain "
                                  "file.")
        if parts[0] not in layout.folders or len(parts) < 2 or _is_junk(parts):
            yield parts, None
            continue
        name = "/".join(parts)
        body = tar.extractfile(member).read(limits.file_bytes + 1)
        if len(body) > limits.file_bytes:
            raise SubmissionError(f"{name} is larger than {_mb(limits.file_bytes)}; the limit "
                                  "per file is that.")
        total += len(body)
        if total > limits.uncompressed_bytes:
            raise SubmissionError("Your archive unpacks to more than "
                                  f"{_mb(limits.uncompressed_bytes)}; the limit is that.")
        yield parts, body


def unpack_handin(data: bytes, dest: Path, *, layout: HandinLayout,
                  limits: IntakeLimits = IntakeLimits(), max_bytes: int | None = None
                  ) -> IntakeReport:
    """Unpack the hand-in bytes into dest/handin and report what was kept, dropped and missing.

    `max_bytes`, when given, is the upload limit instead of `limits.compressed_bytes`."""
    if max_bytes is not None:
        limits = dataclasses.replace(limits, compressed_bytes=max_bytes)
    read = _read(data, layout, limits)
    root = dest / "handin"
    root.mkdir(parents=True)
    for top in layout.folders:
        (root / top).mkdir(mode=0o755)
    for name, body in read.kept.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        target.write_bytes(body)
        target.chmod(0o644)
    return IntakeReport(root=root, files=tuple(read.kept), dropped=tuple(read.dropped),
                        missing=tuple(f for f in layout.required if f not in read.kept),
                        notes=(read.note,) if read.note else ())


def check_handin(data: bytes, *, layout: HandinLayout, max_bytes: int | None = None) -> None:
    """Refuse, as the SubmissionError `unpack_handin` would raise, an upload intake would refuse,
    writing nothing: the service's check at the door, before anything is stored or queued."""
    limits = IntakeLimits() if max_bytes is None else IntakeLimits(compressed_bytes=max_bytes)
    _read(data, layout, limits)


def list_sources(data: bytes, *, layout: HandinLayout, max_bytes: int | None = None
                 ) -> dict[str, str]:
    """The text of every file intake would keep (path → text, undecodable bytes replaced), in
    archive order: the TAs' source view. Empty when intake refuses the archive (the grading
    report says why)."""
    limits = IntakeLimits() if max_bytes is None else IntakeLimits(compressed_bytes=max_bytes)
    try:
        read = _read(data, layout, limits)
    except SubmissionError:
        return {}
    return {name: body.decode("utf-8", "replace") for name, body in read.kept.items()}
