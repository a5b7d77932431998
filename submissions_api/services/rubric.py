"""The one adapter to the grader's rubric: what the service needs of an assignment's rubric file."""

from __future__ import annotations

from grader.rubric import HandinLayout
from submissions_api.store import rubrics


def handin_layout(slug: str) -> HandinLayout:
    """The hand-in's folders and files, as intake reads them (the source view uses it too)."""
    return rubrics.assignment(slug).handin
