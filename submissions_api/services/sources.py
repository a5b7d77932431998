"""The Python sources of a stored hand-in for the TAs' read-only view: read by the grader's own
tar reader (`grader.intake.list_sources`), so the TA sees exactly the files the grader graded
(nothing when intake refused the archive: the report says why)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from grader.intake import list_sources
from grader.rubric import HandinLayout
from submissions_api.services.rubric import handin_layout
from submissions_api.store import crud
from submissions_api.store.models import Submission

MAX_SHOWN_CHARS = 200_000
"""Longer files are cut for display (the download has them whole)."""


def handin_sources(session: Session, sub: Submission, *, max_bytes: int | None = None
                   ) -> list[tuple[str, str]]:
    """(path, text) of each Python file of the submission's hand-in, sorted; `max_bytes` is the
    upload limit the grader was given."""
    data = crud.get_blob(session, sha256=sub.blob_sha256) or b""
    return read_sources(data, handin_layout(sub.assignment.slug), max_bytes=max_bytes)


def read_sources(data: bytes, layout: HandinLayout, *, max_bytes: int | None = None
                 ) -> list[tuple[str, str]]:
    """(path, text) of each `.py` file intake keeps from `data`, sorted, long ones truncated."""
    files = list_sources(data, layout=layout, max_bytes=max_bytes)
    return sorted((path, _shown(text)) for path, text in files.items() if path.endswith(".py"))


def _shown(text: str) -> str:
    if len(text) <= MAX_SHOWN_CHARS:
        return text
    return text[:MAX_SHOWN_CHARS] + "\n… (truncated)"
