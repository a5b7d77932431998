"""Which submission counts and its final score: the one copy of that rule, read by the gradebook
(services/gradebook.py), the pages and the LMS passback (lms/outbox.py, run by the worker). Pure
functions over plain rows, plus the two reads of one student's rows; no FastAPI, no services."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from functools import cache
from typing import Any, Literal, NamedTuple

from sqlalchemy.orm import Session

from submissions_api.store import crud, rubrics
from submissions_api.store.models import Assignment
from submissions_api.store.models_grading import Status

Policy = Literal["best", "latest"]
COUNTING_POLICY: Policy = "best"
"""The submission that counts, as the TA dashboard, the gradebook and the LMS count it."""


def final_score(score: float | None, penalty: float, manual: float | None = None) -> float | None:
    """The score after the late penalty (a fraction of the score taken off): the automatic
    tests' score plus the manual points a TA gave, if any."""
    if score is None:
        return None
    return round((score + (manual or 0.0)) * (1.0 - penalty), 2)


class Entry(NamedTuple):
    """One submission of a student (or, with `submission_id` None, a student without any); a
    tuple, since a class has ten thousand of them."""

    login: str
    name: str
    submission_id: int | None
    received_at: datetime | None
    status: str | None
    raw_score: float | None
    """The automatic tests' score."""
    late_penalty: float
    late: bool
    manual_score: float | None = None
    manual_pending: bool = False

    @property
    def final(self) -> float | None:
        """The score that counts: automatic plus manual points, after the late penalty."""
        return final_score(self.raw_score, self.late_penalty, self.manual_score)


def choose(entries: Iterable[Entry], policy: Policy) -> Entry | None:
    """The graded submission that counts: the best final score (ties: the earliest) or the
    latest."""
    graded = [e for e in entries if e.status == Status.GRADED and e.raw_score is not None]
    if not graded:
        return None
    if policy == "latest":
        return max(graded, key=lambda e: e.submission_id)
    return max(graded, key=lambda e: (e.final, -e.submission_id))


def entries_of(pairs: Iterable[tuple[Any, Any]], *, items: frozenset[str] = frozenset(),
               manual: dict[str, tuple[set[str], float]] | None = None
               ) -> dict[str, list[Entry]]:
    """(student, submission | None) rows (crud.gradebook_rows) → each student's entries;
    `items` are the manual item ids, `manual` each student's graded items and their points
    (crud.manual_by_login). Manual points belong to the student's assignment, so every entry of
    a student carries the same points, and whichever submission counts counts them."""
    manual = manual or {}
    students: dict[str, list[Entry]] = {}
    for user, sub in pairs:
        entries = students.setdefault(user.login, [])
        if sub is None:
            entries.append(Entry(user.login, user.name, None, None, None, None, 0.0, False))
            continue
        graded, points = manual.get(user.login, (set(), None))
        entries.append(Entry(user.login, user.name, sub.id, sub.received_at, sub.status,
                             sub.score, sub.late_penalty, sub.late, points,
                             bool(items - graded)))
    return students


# -- the rubric's manual items: what the scores are out of ----------------------------------------

@cache
def manual_items(slug: str) -> tuple[dict, ...]:
    """The assignment's manual rubric items (id, name, max_points), from its rubric file (read
    once per process: rubrics change with a deployment, not while it runs)."""
    return tuple({"id": m.id, "name": m.name, "max_points": m.points}
                 for m in rubrics.assignment(slug).manual)


def manual_max_score(slug: str) -> float:
    """The manual items' points together."""
    return sum(i["max_points"] for i in manual_items(slug))


def total_max_score(assignment: Assignment) -> float:
    """Automatic tests plus manual items: what the gradebook's scores are out of."""
    return assignment.max_score + manual_max_score(assignment.slug)


# -- over the database ---------------------------------------------------------------------------

def read_entries(session: Session, assignment: Assignment, user_id: int | None = None,
                 user_ids: Collection[int] | None = None) -> dict[str, list[Entry]]:
    """Every student's (or one's, or those of `user_ids`) entries for the assignment, in two
    queries."""
    items = frozenset(i["id"] for i in manual_items(assignment.slug))
    who = {"user_id": user_id, "user_ids": user_ids}
    return entries_of(crud.gradebook_rows(session, assignment=assignment, **who), items=items,
                      manual=crud.manual_by_login(session, assignment=assignment, **who))
