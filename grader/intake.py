"""Safe intake of an uploaded hand-in, before any of its code runs.

Accepts a `.tar` or `.tar.gz` (by content, not by name) made by the students' tar command (the
assignment's `[handin]` layout names its folders). Refuses, as a SubmissionError a student
understands, anything that is not such an archive or that could escape or flood the folder it is
unpacked into (`grader.tarread` has the rules). Keeps only visible source and small text files
under the layout's folders; drops, with a note, what Python could import but is not source
(`.so`, `.pyc`, `.pth`…) and the junk real archives carry (PDFs, plots, `.DS_Store`, data files)
before the size limit applies to what is kept. The archive is read in a child process under a
CPU, memory and wall-clock limit: no archive can keep the grader busy or bloat it.
`list_sources` reads an archive by the same rules for the TAs' source view, so they see exactly
the files that were graded.
"""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
import traceback
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader import forkread
from grader.errors import InfrastructureError, SubmissionError
from grader.rubric import HandinLayout
from grader.tarread import (
    IntakeLimits,
    Read,
    check_member,
    how_to_make,
    inflate,
    megabytes,
    members,
    prescan,
    relative,
    strip_wrapper,
    why_dropped,
)
from grader.text import printable

__all__ = ["DEFAULT_MAX_BYTES", "IntakeLimits", "IntakeReport", "list_sources", "unpack_handin"]

#: The one upload size limit's default (the service's `upload_max_bytes` defaults to it); intake
#: applies it to the files it keeps.
DEFAULT_MAX_BYTES = IntakeLimits().compressed_bytes
CPU_SECONDS, WALL_SECONDS, MEMORY_BYTES = 10, 30, 2 * 1024**3
ANSWER_HEAD_BYTES = 1024 * 1024  # the reader's JSON line: names and notes, under the limits
LEFT_OUT = {"outside": "outside {folders}", "importable": "compiled files Python could import",
            "hidden": "hidden or cache files", "junk": "not source code"}
"""Why intake leaves a file out, in the one note that lists them (in this order)."""


@dataclass(frozen=True)
class IntakeReport:
    """What intake kept (unpacked under `root`), dropped and found missing."""

    root: Path
    files: tuple[str, ...]
    dropped: tuple[str, ...]
    missing: tuple[str, ...]
    notes: tuple[str, ...] = ()


def read_archive(data: bytes, layout: HandinLayout, limits: IntakeLimits) -> Read:
    """Every file intake keeps (name → bytes), what it dropped, and one note of what it left
    out; or SubmissionError, whose message ends with the command that makes a good hand-in.
    Unbounded in time on crafted input only through tarfile: call `_read` instead."""
    try:
        return _read_archive(data, layout, limits)
    except SubmissionError as exc:
        message = str(exc)
        if layout.tar_command not in message:
            message = f"{message} {how_to_make(layout)}"
        raise SubmissionError(message) from None


def _read_archive(data: bytes, layout: HandinLayout, limits: IntakeLimits) -> Read:
    raw = inflate(data, limits, layout)
    prescan(raw, limits, layout)
    found = members(raw, limits, layout)
    paths = [relative(m.name, layout) for m in found]
    strip, note = strip_wrapper(paths, layout)
    read = Read(notes=[note] if note else [])
    kinds: dict[str, list[str]] = {kind: [] for kind in LEFT_OUT}
    seen: dict[str, bool] = {}  # path -> is a folder
    total = 0
    with_data = tarfile.open(fileobj=io.BytesIO(raw), mode="r:")
    for member, path in zip(found, paths, strict=True):
        check_member(member)
        parts = path.parts[strip:]
        if not parts:
            continue
        _claim(seen, parts, member.isdir())
        if member.isdir():
            continue
        name = "/".join(parts)
        why = why_dropped(parts, layout)
        if why is not None:
            read.dropped.append(printable(name, 300))
            hidden = why == "junk" and any(p.startswith(".") or p == "__pycache__"
                                           for p in parts)
            kinds["hidden" if hidden else why].append(printable(name, 300))
            continue
        if printable(name) != name:
            raise SubmissionError(f"Your archive holds a file name with control characters "
                                  f"({name[:100]!r}); rename it.")
        body = _body(with_data, member, name, limits)
        total += len(body)
        if total > min(limits.compressed_bytes, limits.uncompressed_bytes):
            cap = min(limits.compressed_bytes, limits.uncompressed_bytes)
            sizes = {**{n: len(b) for n, b in read.kept.items()}, name: len(body)}
            biggest = sorted(sizes, key=lambda n: -sizes[n])[:2]
            raise SubmissionError(
                f"The files we grade in your archive add up to more than {megabytes(cap)}, the "
                "limit; "
                f"the biggest {'are' if len(biggest) > 1 else 'is'} "
                + " and ".join(f"{n} ({megabytes(sizes[n])})" for n in biggest)
                + ": leave out data and generated files, keep only your code.")
        read.kept[name] = body
    if read.dropped:
        read.notes.append(left_out_note(kinds, layout))
    if not any(f in read.kept for f in layout.required):
        raise SubmissionError("Your archive has none of the files we grade ("
                              + ", ".join(layout.required) + "). Make it with "
                              f"`{layout.tar_command}` from the handout folder.")
    # The layout's first folder is the hand-in's own (hw1/): an archive without it was not made
    # from the handout folder. Without a later one (mytorch/) it still grades what it can, as
    # the course's grader did: the tests that import a missing file name it.
    top = layout.folders[0]
    if not any(name.startswith(top + "/") for name in read.kept):
        raise SubmissionError(f"Your archive has no {top}/ folder (it needs "
                              + " and ".join(f"{t}/" for t in layout.folders) + "). Make it "
                              f"with `{layout.tar_command}` from the handout folder.")
    return read


def left_out_note(kinds: dict[str, list[str]], layout: HandinLayout) -> str:
    """The one notice of every file intake left out, by reason: `We graded only the source in
    hw1/ and mytorch/ and left out 3 files: outside hw1/ and mytorch/: writeup.pdf; …`."""
    n = sum(len(names) for names in kinds.values())
    parts = []
    for kind, names in kinds.items():
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5
                                            else "")
            parts.append(LEFT_OUT[kind].format(folders=layout.folders_text) + ": " + shown)
    return (f"We graded only the source in {layout.folders_text} and left out {n} "
            f"file{'s' if n > 1 else ''}: " + "; ".join(parts) + ".")


def _claim(seen: dict[str, bool], parts: tuple[str, ...], is_dir: bool) -> None:
    """Refuse a path given twice, or a file and a folder of the same name (either order)."""
    for i in range(1, len(parts)):
        prefix = "/".join(parts[:i])
        if seen.setdefault(prefix, True) is False:
            raise SubmissionError(f"Your archive holds {prefix!r} both as a file and as a "
                                  "folder.")
    name = "/".join(parts)
    if name in seen:
        if seen[name] and is_dir:
            return  # the same folder named twice is harmless
        what = "twice" if seen[name] == is_dir else "both as a file and as a folder"
        raise SubmissionError(f"Your archive holds {name[:200]!r} {what}.")
    seen[name] = is_dir


def _body(tar, member, name: str, limits: IntakeLimits) -> bytes:
    if member.size > limits.file_bytes:
        raise SubmissionError(f"{name} is larger than {megabytes(limits.file_bytes)}; the limit "
                              "per file is that.")
    try:
        body = tar.extractfile(member).read(limits.file_bytes + 1)
    except (OSError, EOFError, ValueError, tarfile.TarError):
        body = b""
    if len(body) != member.size:
        raise SubmissionError(f"Your archive is truncated ({name} is cut off).")
    return body


def answer(request: bytes) -> bytes:
    """The forked reader's handler (grader/forkread.py): request = JSON line + upload, answer =
    JSON line + the kept files' bytes one after the other."""
    head, _, data = request.partition(b"\n")
    spec = json.loads(head)
    layout = HandinLayout(**{k: tuple(v) for k, v in spec["layout"].items()})
    try:
        read = read_archive(data, layout, IntakeLimits(**spec["limits"]))
    except SubmissionError as exc:
        return json.dumps({"refused": str(exc)}).encode() + b"\n"
    except MemoryError:
        return json.dumps({"limits": True}).encode() + b"\n"
    except Exception:  # noqa: BLE001 - ours, not the student's: said, and raised as ours
        return json.dumps({"error": traceback.format_exc()[-2000:]}).encode() + b"\n"
    return json.dumps({"kept": [[n, len(b)] for n, b in read.kept.items()],
                       "dropped": read.dropped, "notes": read.notes}).encode() + b"\n" + \
        b"".join(read.kept.values())


def _read(data: bytes, layout: HandinLayout, limits: IntakeLimits) -> Read:
    """`read_archive` in a fresh forked child under CPU, memory and wall-clock limits."""
    if len(data) > limits.compressed_bytes * limits.raw_factor:
        return read_archive(data, layout, limits)  # refused on its size, nothing parsed
    spec = {"layout": dataclasses.asdict(layout), "limits": dataclasses.asdict(limits)}
    reply = forkread.call("grader.intake:answer", json.dumps(spec).encode() + b"\n" + data,
                          limits=(CPU_SECONDS, MEMORY_BYTES, WALL_SECONDS),
                          cap=limits.uncompressed_bytes + ANSWER_HEAD_BYTES)
    head, _, rest = reply.partition(b"\n")
    try:
        result = json.loads(head)
    except ValueError:  # killed by a limit before it could answer
        result = {"limits": True}
    if "limits" in result:
        raise SubmissionError("Your archive could not be read within our time and memory "
                              f"limits: make it with `{layout.tar_command}`.")
    if "error" in result:
        raise InfrastructureError("intake's reader failed: " + str(result["error"]))
    if "refused" in result:
        raise SubmissionError(result["refused"])
    read = Read(dropped=list(result["dropped"]), notes=list(result["notes"]))
    at = 0
    for name, size in result["kept"]:
        read.kept[_safe_name(name)] = rest[at:at + size]
        at += size
    return read


def _safe_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InfrastructureError(f"intake's reader returned an unsafe name {name!r}")
    return name


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
                        notes=tuple(read.notes))


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
