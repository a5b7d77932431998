"""The rules by which intake reads an uploaded tar (`grader.intake` runs them in a child process
under a time and memory limit). Every malformed archive ends as one `SubmissionError` a student
understands; every file that is not visible source is dropped with a note.

The headers are walked here first (block by block, sizes checked, no regular expression), so an
archive tarfile would read slowly (Python 3.11's pax-header parsing) or wrongly is refused before
tarfile sees it.
"""

from __future__ import annotations

import io
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from grader.errors import SubmissionError
from grader.rubric import HandinLayout

#: What Python could import although it is not source: dropped, so only visible code is graded.
IMPORTABLE = (".so", ".pyd", ".pyc", ".pyo", ".pth", ".egg", ".whl", ".dll", ".dylib")
#: The only files kept besides `.py`: small text files a hand-in may read.
TEXT = (".py", ".txt", ".md", ".rst", ".cfg", ".ini", ".toml", ".json", ".yaml", ".yml", ".csv")
MAX_META = 64 * 1024  # one pax or GNU long-name header
NAME_BYTES, PATH_BYTES = 255, 1024


@dataclass(frozen=True)
class IntakeLimits:
    """How much intake reads of one upload. `compressed_bytes` is the upload limit and applies to
    the files kept; an upload itself may be `raw_factor` times that (the junk real archives carry
    is dropped first)."""

    compressed_bytes: int = 16 * 1024 * 1024
    uncompressed_bytes: int = 20 * 1024 * 1024
    file_bytes: int = 5 * 1024 * 1024
    members: int = 500
    raw_factor: int = 4


@dataclass
class Read:
    kept: dict[str, bytes] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def megabytes(n: int) -> str:
    """A size in bytes as the messages about limits say it (`1.5 MB`)."""
    return f"{n / 1024 / 1024:.1f} MB"


OTHER_FORMATS = ((b"PK\x03\x04", "a zip archive"), (b"PK\x05\x06", "a zip archive"),
                 (b"PK\x07\x08", "a zip archive"), (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
                 (b"Rar!\x1a\x07", "a RAR archive"), (b"BZh", "bzip2-compressed"),
                 (b"\xfd7zXZ\x00", "xz-compressed"), (b"\x28\xb5\x2f\xfd", "zstd-compressed"),
                 (b"%PDF-", "a PDF"))
"""Magic bytes of what students upload instead of a tar, and what to call it."""
ACCEPTED = "we accept a tar (.tar, or .tar.gz)"


def how_to_make(layout: HandinLayout) -> str:
    """The sentence every refusal ends with: the exact command that makes a good hand-in."""
    return (f"Make it with `{layout.tar_command}` in the folder that holds "
            f"{layout.folders_text}.")


def sniff(data: bytes) -> str | None:
    """What an upload is when its first bytes say it is a known non-tar format, else None."""
    return next((name for magic, name in OTHER_FORMATS if data.startswith(magic)), None)


def inflate(data: bytes, limits: IntakeLimits, layout: HandinLayout) -> bytes:
    """The uncompressed tar bytes (inflated under a cap)."""
    ceiling = limits.compressed_bytes * limits.raw_factor
    if len(data) > ceiling:
        raise SubmissionError(f"Your upload is {megabytes(len(data))}; we read at most "
                              f"{megabytes(ceiling)} (the limit is "
                              f"{megabytes(limits.compressed_bytes)} of code). Hand in only "
                              f"{layout.folders_text} (no data files, no plots).")
    kind = sniff(data)
    if kind:
        raise SubmissionError(f"Your upload is {kind}, not a tar: {ACCEPTED}.")
    if data[:2] != b"\x1f\x8b":
        return data
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    cap = limits.uncompressed_bytes * limits.raw_factor
    try:
        raw = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise SubmissionError(f"Your upload looks gzip-compressed but is damaged ({exc}).") \
            from None
    if len(raw) > cap or inflater.unconsumed_tail:
        raise SubmissionError(f"Your archive unpacks to more than {megabytes(cap)}; the limit is "
                              "that.")
    if not _looks_like_tar(raw):
        inside = sniff(raw)
        raise SubmissionError("Your upload is gzip-compressed but holds "
                              + (inside if inside else "a single file, not a tar")
                              + f" (gzip alone compresses one file): {ACCEPTED}.")
    return raw


def _looks_like_tar(raw: bytes) -> bool:
    """Whether the first block is a tar header (its checksum adds up)."""
    return len(raw) >= 512 and _checksum_ok(raw[:512])


def _octal(field_: bytes) -> int:
    if field_[:1] in (b"\x80", b"\xff"):  # GNU base-256
        return int.from_bytes(field_[1:], "big") if field_[:1] == b"\x80" else -1
    text = field_.split(b"\0", 1)[0].strip(b" \0")
    try:
        return int(text, 8) if text else 0
    except ValueError:
        return -1


def prescan(raw: bytes, limits: IntakeLimits, layout: HandinLayout) -> None:
    """Walk the tar's 512-byte headers: each size sane, the data present, metadata headers
    small, not too many entries. Linear in the archive, whatever it holds."""
    at, entries = 0, 0
    not_tar = SubmissionError("Your upload is not a tar archive (or it is damaged): make it "
                              f"with `{layout.tar_command}`.")
    while at + 512 <= len(raw):
        block = raw[at:at + 512]
        if block == b"\0" * 512:
            return
        size = _octal(block[124:136])
        if size < 0 or not _checksum_ok(block):
            raise not_tar
        kind = block[156:157]
        if kind in (b"x", b"g", b"L", b"K") and size > MAX_META:
            raise SubmissionError("Your archive has an oversized extended header; make it with "
                                  f"`{layout.tar_command}`.")
        entries += 1
        if entries > 2 * limits.members + 2:
            raise SubmissionError(f"Your archive has more than {limits.members} entries; "
                                  f"hand in only {layout.folders_text}.")
        at += 512 + (size + 511) // 512 * 512
        if at > len(raw):
            raise SubmissionError("Your archive is truncated (a file's data is cut off): make "
                                  f"it again with `{layout.tar_command}`.")
    if at == 0:
        raise not_tar


def _checksum_ok(block: bytes) -> bool:
    stored = _octal(block[148:156])
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    return stored == unsigned


def members(raw: bytes, limits: IntakeLimits, layout: HandinLayout) -> list[tarfile.TarInfo]:
    try:
        tar = tarfile.open(fileobj=io.BytesIO(raw), mode="r:")
        found = []
        for member in tar:
            found.append(member)
            if len(found) > limits.members:
                raise SubmissionError(f"Your archive has more than {limits.members} entries; "
                                      f"hand in only {layout.folders_text}.")
        return found
    except (tarfile.TarError, EOFError, ValueError, OverflowError) as exc:
        raise SubmissionError("Your upload is not a tar archive (or it is damaged): make it "
                              f"with `{layout.tar_command}` ({str(exc)[:200]}).") from None


def relative(name: str, layout: HandinLayout) -> PurePosixPath:
    """The member's path, checked: relative, no '..', UTF-8, components the file system takes."""
    shown = repr(name[:100])
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        raise SubmissionError(f"Your archive holds an absolute path ({shown}). Make it with "
                              f"`{layout.tar_command}` from the handout folder.")
    if ".." in path.parts:
        raise SubmissionError(f"Your archive holds a path with '..' ({shown}); that is not "
                              "allowed.")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise SubmissionError(f"Your archive holds a name that is not UTF-8 ({shown}).") \
            from None
    if "\0" in name or len(encoded) > PATH_BYTES or any(
            len(p.encode()) > NAME_BYTES for p in path.parts):
        raise SubmissionError(f"Your archive holds a name too long for a file system ({shown}"
                              "…).")
    return PurePosixPath(*[p for p in path.parts if p not in ("", ".")])


def strip_wrapper(paths: list[PurePosixPath], layout: HandinLayout) -> tuple[int, str | None]:
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


def check_member(member: tarfile.TarInfo) -> None:
    if member.issym() or member.islnk():
        raise SubmissionError(f"Your archive holds a link ({member.name[:100]!r}); hand in "
                              "plain files only.")
    if member.ischr() or member.isblk() or member.isfifo() or member.isdev():
        raise SubmissionError(f"Your archive holds a device or pipe ({member.name[:100]!r}); "
                              "hand in plain files only.")
    if not (member.isfile() or member.isdir()):
        raise SubmissionError(f"Your archive holds {member.name[:100]!r}, which is not a plain "
                              "file.")


def why_dropped(parts: tuple[str, ...], layout: HandinLayout) -> str | None:
    """None when the file is kept, else the kind of drop: 'outside', 'importable', 'junk'."""
    if parts[0] not in layout.folders or len(parts) < 2:
        return "outside"
    lower = parts[-1].lower()
    if lower.endswith(IMPORTABLE):
        return "importable"
    if any(p.startswith(".") or p == "__pycache__" for p in parts) or not lower.endswith(TEXT):
        return "junk"
    return None


def too_big(head: bytes, size: int, limit: int, layout: HandinLayout) -> str:
    """Why an upload of `size` bytes is refused over `limit`, and what to leave out: read from
    its first bytes `head` (headers only, a tar or .tar.gz cut anywhere)."""
    bulky = [(name, n) for name, n in bulk(head, layout) if n >= size // 10][:2]
    advice = (f"Leave out {' and '.join(f'{name} ({megabytes(n)})' for name, n in bulky)}: hand in "
              f"only {layout.folders_text}." if bulky else
              f"Hand in only {layout.folders_text} (no data, plots or PDFs).")
    shown = megabytes(size)
    if shown == megabytes(limit):
        shown = f"just over {shown}"
    return (f"Your upload is {shown}; the limit is {megabytes(limit)}. {advice} "
            f"{how_to_make(layout)}")


def bulk(head: bytes, layout: HandinLayout, cap: int = 4 * 1024 * 1024) -> list[tuple[str, int]]:
    """The biggest parts of a (possibly cut-off) tar or .tar.gz that are not the hand-in's code,
    largest first: `data/`, `hw1/data/`, `writeup.pdf` with their sizes. Runs where the upload
    arrives (not in intake's child), so it is bounded: it inflates at most `cap` bytes of a
    .tar.gz (a big file's header, which gives its size, comes before its data), reads only the
    headers of the bytes it holds, no regular expression, and stops at the first block that is
    not a header."""
    raw = head
    if head[:2] == b"\x1f\x8b":
        try:
            raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, cap)
        except zlib.error:
            return []
    files: list[tuple[list[str], int]] = []
    at, long_name = 0, None
    while at + 512 <= len(raw):
        block = raw[at:at + 512]
        if block == b"\0" * 512 or not _checksum_ok(block):
            break
        size, kind = max(_octal(block[124:136]), 0), block[156:157]
        if kind == b"L":
            long_name = raw[at + 512:at + 512 + min(size, MAX_META)].split(b"\0", 1)[0]
        elif kind in (b"0", b"\0", b"7"):
            name = (long_name or _header_name(block)).decode("utf-8", "replace")
            files.append(([p for p in name.split("/") if p not in ("", ".")], size))
            long_name = None
        at += 512 + (size + 511) // 512 * 512
    tops = {parts[0] for parts, _ in files if len(parts) > 1}
    wrapped = len(tops) == 1 and not tops & set(layout.folders) and \
        any(len(parts) > 2 and parts[1] in layout.folders for parts, _ in files)
    sizes: dict[str, int] = {}
    for parts, size in files:
        key = _bulk_key(parts, layout, wrapped)
        sizes[key] = sizes.get(key, 0) + size
    code = set(layout.required)
    return sorted(((k, n) for k, n in sizes.items() if k not in code), key=lambda kv: -kv[1])


def _bulk_key(parts: list[str], layout: HandinLayout, wrapped: bool) -> str:
    """The part of the archive a file belongs to: its first folder outside the hand-in's own
    (past the wrapper folder, when there is one), or the file itself."""
    i = 1 if wrapped and len(parts) > 1 else 0
    if i < len(parts) - 1 and parts[i] in layout.folders:
        i += 1
    return "/".join(parts[:i + 1]) + ("/" if i < len(parts) - 1 else "")


def _header_name(block: bytes) -> bytes:
    """A header's path: a POSIX ustar header's prefix field, then the name field (GNU headers
    keep other things where ustar has the prefix)."""
    prefix, name = block[345:500].split(b"\0", 1)[0], block[:100].split(b"\0", 1)[0]
    if block[257:263] != b"ustar\0":
        prefix = b""
    return prefix + b"/" + name if prefix else name
