"""Annotations: a TA's comment on lines of a hand-in's file (optionally tied to a rubric item).
They belong to the submission, so a regrade keeps them; lines the file no longer has (a file
the grader no longer keeps, or shorter) are shown from the quote kept with the annotation. A
student sees them on their result once manual points are released to them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from grader.text import printable
from submissions_api.errors import NotFound, Refused
from submissions_api.schemas import MAX_COMMENT
from submissions_api.security import require_role
from submissions_api.services import fetch
from submissions_api.services.rubric import handin_layout
from submissions_api.services.sources import SourceFile, anchor, numbered, read_sources
from submissions_api.store import crud
from submissions_api.store.models import Role, User
from submissions_api.store.models_grading import Submission
from submissions_api.store.models_rubric import Annotation, RubricItem

MAX_QUOTE = 4000


def annotate(session: Session, user: User, submission_id: int, *, path: str, first: int,
             last: int, comment: str, rubric_item_id: int | None, max_bytes: int
             ) -> Annotation:
    """Comment on lines first..last of one of the hand-in's files (TAs)."""
    require_role(user, Role.TA)
    sub = fetch.submission(session, submission_id)
    files = dict(read_sources(crud.get_blob(session, sha256=sub.blob_sha256) or b"",
                              handin_layout(sub.assignment.slug), max_bytes=max_bytes))
    if path not in files:
        raise NotFound("file in this hand-in")
    lines = files[path].split("\n")
    first, last = min(first, last), max(first, last)
    if first < 1 or last > len(lines):
        raise Refused(f"{path} has lines 1 to {len(lines)}")
    comment = printable(comment).strip()
    if not comment or len(comment) > MAX_COMMENT:
        raise Refused(f"an annotation has 1 to {MAX_COMMENT} characters")
    if rubric_item_id is not None:
        item = session.get(RubricItem, rubric_item_id)
        if item is None or item.assignment_id != sub.assignment_id:
            raise NotFound("rubric item")
    note = Annotation(submission_id=sub.id, path=path, first_line=first, last_line=last,
                      quote="\n".join(lines[first - 1:last])[:MAX_QUOTE], comment=comment,
                      rubric_item_id=rubric_item_id, author_id=user.id)
    session.add(note)
    session.commit()
    return note


def delete(session: Session, user: User, annotation_id: int) -> int:
    """Delete an annotation (TAs); the submission it was on."""
    require_role(user, Role.TA)
    note = session.get(Annotation, annotation_id)
    if note is None:
        raise NotFound("annotation")
    session.delete(note)
    session.commit()
    return note.submission_id


def marked(session: Session, sub: Submission) -> dict[str, set[int]]:
    """The annotated lines per path (the sources highlight them)."""
    out: dict[str, set[int]] = {}
    for note in crud.annotations(session, submission_id=sub.id):
        out.setdefault(note.path, set()).update(range(note.first_line, note.last_line + 1))
    return out


def view(session: Session, sub: Submission, files: list[SourceFile]) -> dict[str, list[dict]]:
    """The submission's annotations per file path, each with whether the file still has its
    lines (`present`; else only its `quote` shows them) and the link to its first line."""
    texts = {f.path: f.text.split("\n") for f in files}
    out: dict[str, list[dict[str, Any]]] = {}
    for note in crud.annotations(session, submission_id=sub.id):
        lines = texts.get(note.path)
        present = lines is not None and note.last_line <= len(lines) and "\n".join(
            lines[note.first_line - 1:note.last_line])[:MAX_QUOTE] == note.quote
        out.setdefault(note.path, []).append({
            "id": note.id, "first": note.first_line, "last": note.last_line,
            "comment": note.comment, "quote": note.quote, "present": present,
            "href": f"#{anchor(note.path)}-{note.first_line}" if present else "",
            "rubric": note.rubric_item.description if note.rubric_item else "",
            "rubric_points": note.rubric_item.points if note.rubric_item else None,
            "author": note.author.login if note.author else ""})
    return out


def for_student(session: Session, sub: Submission, *, max_bytes: int) -> list[dict[str, Any]]:
    """The annotated files of the submission, numbered, each with its annotations (the
    caller shows them once manual points are released)."""
    if not crud.annotations(session, submission_id=sub.id):
        return []
    texts = read_sources(crud.get_blob(session, sha256=sub.blob_sha256) or b"",
                         handin_layout(sub.assignment.slug), max_bytes=max_bytes)
    lines = marked(session, sub)
    files = [SourceFile(path, text, text.count("\n") + 1,
                        numbered(path, text, lines.get(path, set())), [], None)
             for path, text in texts]
    notes = view(session, sub, files)
    shown = [{"path": f.path, "html": f.html, "notes": notes[f.path]} for f in files
             if f.path in notes]
    kept = {f.path for f in files}
    return shown + [{"path": path, "html": None, "notes": ns} for path, ns in notes.items()
                    if path not in kept]
