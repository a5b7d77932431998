"""Assignments (synced from the grader's rubrics as plain data) and extensions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from submissions_api.lms import outbox
from submissions_api.store.models import Assignment, Extension, User

SCORE_SETTINGS = frozenset({"deadline", "late_deadline", "late_penalty", "release_at"})
"""Settings the score an LMS is told depends on (lateness, Completed, when it may be shown)."""


class RubricRow(NamedTuple):
    """What the database keeps of one of the grader's rubrics."""

    slug: str
    title: str
    max_score: float
    rubric_version: str


def sync_assignments(session: Session, *, rubrics: Sequence[RubricRow]) -> list[Assignment]:
    """Create or refresh a row for each rubric (the caller reads them from the grader)."""
    rows = []
    for rubric in rubrics:
        row = get_assignment(session, slug=rubric.slug) or Assignment(slug=rubric.slug)
        row.title, row.max_score = rubric.title, rubric.max_score
        row.rubric_version = rubric.rubric_version
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def get_assignment(session: Session, *, slug: str) -> Assignment | None:
    return session.scalar(select(Assignment).where(Assignment.slug == slug))



def get_assignment_by_id(session: Session, *, assignment_id: int) -> Assignment | None:
    return session.get(Assignment, assignment_id)



def list_assignments(session: Session) -> Sequence[Assignment]:
    return session.scalars(select(Assignment).order_by(Assignment.slug)).all()



def update_assignment(session: Session, *, assignment: Assignment, changes: dict[str, Any]
                      ) -> Assignment:
    for key, value in changes.items():
        setattr(assignment, key, value)
    session.flush()
    if SCORE_SETTINGS & changes.keys():
        outbox.touch(session, assignment.id)
    return assignment



def get_extension(session: Session, *, assignment: Assignment, user: User) -> Extension | None:
    return session.scalar(select(Extension).where(Extension.assignment_id == assignment.id,
                                                  Extension.user_id == user.id))



def set_extension(session: Session, *, assignment: Assignment, user: User, deadline: datetime,
                  late_deadline: datetime | None, reason: str, granted_by: User) -> Extension:
    ext = get_extension(session, assignment=assignment, user=user) or \
        Extension(assignment_id=assignment.id, user_id=user.id)
    ext.deadline, ext.late_deadline, ext.reason = deadline, late_deadline, reason
    ext.granted_by_id = granted_by.id
    session.add(ext)
    session.flush()
    outbox.touch(session, assignment.id, [user.id])
    return ext



def list_extensions(session: Session, *, assignment: Assignment
                    ) -> Sequence[tuple[Extension, User]]:
    return session.execute(select(Extension, User).join(User, Extension.user_id == User.id)
                           .where(Extension.assignment_id == assignment.id)
                           .order_by(User.login)).tuples().all()



def delete_extension(session: Session, *, extension: Extension) -> None:
    session.delete(extension)
    session.flush()
    outbox.touch(session, extension.assignment_id, [extension.user_id])
