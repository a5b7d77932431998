"""Which assignments a student sees, and when they see their scores and feedback.

An instructor can hide an assignment (students neither see it nor may submit to it) or schedule
it (`visible_from`), and hold scores and feedback back until `release_at` (until then a student
sees that a submission was received and graded, and when scores come). Staff always see
everything."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from submissions_api.errors import NotFound
from submissions_api.security import is_staff
from submissions_api.services import fetch
from submissions_api.store import crud
from submissions_api.store.models import Assignment, User, utcnow


def visible(assignment: Assignment, user: User, now: datetime | None = None) -> bool:
    """Whether `user` sees the assignment now (staff: always)."""
    if is_staff(user):
        return True
    if assignment.hidden:
        return False
    return assignment.visible_from is None or (now or utcnow()) >= assignment.visible_from


def released(assignment: Assignment, user: User, now: datetime | None = None) -> bool:
    """Whether `user` sees scores and feedback of the assignment now (staff: always)."""
    if is_staff(user) or assignment.release_at is None:
        return True
    return (now or utcnow()) >= assignment.release_at


def visible_assignment(session: Session, slug: str, user: User) -> Assignment:
    """The assignment, or NotFound for a student who may not see it (as if it did not exist)."""
    assignment = fetch.assignment(session, slug)
    if not visible(assignment, user):
        raise NotFound("assignment")
    return assignment


def visible_assignments(session: Session, user: User) -> Sequence[Assignment]:
    """The assignments `user` sees now."""
    now = utcnow()
    return [a for a in crud.list_assignments(session) if visible(a, user, now)]
