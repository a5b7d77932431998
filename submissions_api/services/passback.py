"""What staff see and do of the LMS passback and roster: per student of an assignment the score
last sent and when, what is pending and what fails with the platform's answer; re-sending every
score of an assignment; asking for a roster sync of an LMS course (lms/outbox.py, lms/roster.py
do the work; the bulk worker sends)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from submissions_api.errors import NotFound
from submissions_api.jobs import Dispatcher
from submissions_api.lms import outbox
from submissions_api.security import require_role
from submissions_api.services import fetch
from submissions_api.store.models import Assignment, Role, User
from submissions_api.store.models_lms import LtiContext, LtiResourceLink, ScoreOutbox


@dataclass(frozen=True)
class StudentScore:
    """One student's row on one link: `state` sent, pending, failing or waiting (held)."""

    login: str
    name: str
    link: str
    state: str
    sent_score: float | None
    sent_at: datetime | None
    next_try_at: datetime | None
    tries: int
    last_error: str


def links_of(session: Session, assignment: Assignment) -> list[LtiResourceLink]:
    """The LMS links bound to the assignment (the staff page is shown when there are some)."""
    return list(session.scalars(select(LtiResourceLink).where(
        LtiResourceLink.assignment_id == assignment.id).order_by(LtiResourceLink.id)))


def status(session: Session, user: User, slug: str) -> dict[str, Any]:
    """The assignment's links, their courses, and every student's row (TAs)."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.TA)
    links = links_of(session, assignment)
    titles = {link.id: link.title or link.resource_link_id for link in links}
    rows = session.execute(select(ScoreOutbox, User.login, User.name)
                           .join(User, User.id == ScoreOutbox.user_id)
                           .where(ScoreOutbox.resource_link_pk.in_(list(titles)))
                           .order_by(User.login, ScoreOutbox.resource_link_pk)).all()
    students = [StudentScore(login=login, name=name, link=titles[row.resource_link_pk],
                             state=_state(row), sent_score=row.sent_score, sent_at=row.sent_at,
                             next_try_at=row.next_try_at, tries=row.tries,
                             last_error=row.last_error) for row, login, name in rows]
    contexts = {link.context.id: link.context for link in links if link.context is not None}
    counts = {s: sum(1 for r in students if r.state == s)
              for s in ("sent", "pending", "failing")}
    return {"assignment": assignment, "links": links, "students": students,
            "contexts": sorted(contexts.values(), key=lambda c: c.id), "counts": counts}


def _state(row: ScoreOutbox) -> str:
    if row.version <= row.sent_version:
        return "sent"
    return "failing" if row.tries else "pending"


def resend(session: Session, user: User, slug: str) -> int:
    """Send every student's score of the assignment again (TAs); the bulk worker sends after
    the commit. How many rows."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.TA)
    count = outbox.resend(session, assignment.id)
    session.commit()
    return count


def request_sync(session: Session, user: User, context_pk: int, dispatcher: Dispatcher
                 ) -> LtiContext:
    """Ask the bulk worker to sync an LMS course's roster now (TAs)."""
    require_role(user, Role.TA)
    context = session.get(LtiContext, context_pk)
    if context is None:
        raise NotFound("LMS course")
    dispatcher.send_roster_sync(context.id)
    return context
