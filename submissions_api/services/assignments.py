"""An assignment's settings (deadlines, penalty, limits: instructors) and extensions (TAs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from submissions_api.errors import NotFound, Refused
from submissions_api.security import require_role
from submissions_api.services import fetch
from submissions_api.services.policy import deadline_problem
from submissions_api.store import crud
from submissions_api.store.models import Assignment, Extension, Role, User

ZERO_WHEN_CLEARED = {"late_penalty": 0, "cooldown_seconds": 0, "hidden": False,
                     "canvas_assignment_id": ""}
"""Settings whose "none" is 0 or False, not NULL (the columns are not nullable)."""


def update_assignment(session: Session, user: User, slug: str, changes: dict[str, Any], *,
                      zone: str = "UTC") -> Assignment:
    """Set the deadline, late deadline and penalty, submission limit, cooldown (instructors).
    Fields given as None are cleared; fields not given are kept. A refusal names times in
    `zone` (the course's, on the pages)."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.INSTRUCTOR)
    changes = dict(changes)
    for key, zero in ZERO_WHEN_CLEARED.items():
        if key in changes and changes[key] is None:
            changes[key] = zero
    problem = deadline_problem(changes.get("deadline", assignment.deadline),
                               changes.get("late_deadline", assignment.late_deadline), zone)
    if problem:
        raise Refused(problem)
    crud.update_assignment(session, assignment=assignment, changes=changes)
    session.commit()
    return assignment


def list_extensions(session: Session, user: User, slug: str
                    ) -> Sequence[tuple[Extension, User]]:
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.TA)
    return crud.list_extensions(session, assignment=assignment)


def set_extension(session: Session, user: User, slug: str, login: str, *, deadline: datetime,
                  late_deadline: datetime | None, reason: str, zone: str = "UTC") -> Extension:
    """Grant (or change) one student's extension (TAs and instructors)."""
    assignment = fetch.assignment(session, slug)
    student = fetch.user(session, login)
    require_role(user, Role.TA)
    if late_deadline is not None and late_deadline <= deadline:
        raise Refused(deadline_problem(deadline, late_deadline, zone) or "")
    ext = crud.set_extension(session, assignment=assignment, user=student, deadline=deadline,
                             late_deadline=late_deadline, reason=reason, granted_by=user)
    session.commit()
    return ext


def delete_extension(session: Session, user: User, slug: str, login: str) -> None:
    assignment = fetch.assignment(session, slug)
    student = crud.get_user_by_login(session, login=login)
    ext = crud.get_extension(session, assignment=assignment, user=student) if student else None
    if ext is None:
        raise NotFound("extension")
    require_role(user, Role.TA)
    crud.delete_extension(session, extension=ext)
    session.commit()
