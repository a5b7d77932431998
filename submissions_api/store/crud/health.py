"""What the queue health page and `/metrics` read: the waiting work per queue, and the runs."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from submissions_api.store.models_grading import GradingRun, Status, Submission


class Waiting(NamedTuple):
    queue: str
    status: str
    count: int
    oldest: datetime | None
    """The earliest `enqueued_at` among them."""


class RunTimes(NamedTuple):
    outcome: str
    started_at: datetime | None
    finished_at: datetime


def waiting(session: Session) -> list[Waiting]:
    """Queued and running submissions, counted per queue and status."""
    rows = session.execute(
        select(Submission.queue, Submission.status, func.count(Submission.id),
               func.min(Submission.enqueued_at))
        .where(Submission.status.in_((Status.QUEUED, Status.RUNNING)))
        .group_by(Submission.queue, Submission.status)).all()
    return [Waiting(*row) for row in rows]


def run_times(session: Session, *, since: datetime | None = None) -> list[RunTimes]:
    """Every grading run's outcome and times (finished at or after `since`, when given)."""
    query = select(GradingRun.outcome, GradingRun.started_at, GradingRun.finished_at)
    if since is not None:
        query = query.where(GradingRun.finished_at >= since)
    return [RunTimes(*row) for row in session.execute(query).all()]
