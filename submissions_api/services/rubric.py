"""The one adapter to the grader's rubric: what the service needs of an assignment's rubric file."""

from __future__ import annotations

from functools import cache

from grader.rubric import HandinLayout, load_assignment
from submissions_api.store.models import Assignment


@cache
def manual_items(slug: str) -> tuple[dict, ...]:
    """The assignment's manual rubric items (id, name, max_points), from its rubric file (read
    once per process: rubrics change with a deployment, not while it runs)."""
    return tuple({"id": m.id, "name": m.name, "max_points": m.points}
                 for m in load_assignment(slug).manual)


def manual_max_score(slug: str) -> float:
    """The manual items' points together."""
    return sum(i["max_points"] for i in manual_items(slug))


def total_max_score(assignment: Assignment) -> float:
    """Automatic tests plus manual items: what the gradebook's scores are out of."""
    return assignment.max_score + manual_max_score(assignment.slug)


def handin_layout(slug: str) -> HandinLayout:
    """The hand-in's folders and files, as intake reads them (the source view uses it too)."""
    return load_assignment(slug).handin
