"""Regrades: a batch of submissions re-graded on the bulk queue, item by item."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from submissions_api.store.crud.submissions import requeue
from submissions_api.store.models import (
    Assignment,
    GradingRun,
    Regrade,
    RegradeItem,
    Status,
    Submission,
    User,
)


def regrade_candidates(session: Session, *, assignment: Assignment, latest_only: bool
                       ) -> Sequence[Submission]:
    query = select(Submission).where(Submission.assignment_id == assignment.id)
    if latest_only:
        latest = (select(func.max(Submission.id)).where(Submission.assignment_id == assignment.id)
                  .group_by(Submission.user_id))
        query = query.where(Submission.id.in_(latest))
    return session.scalars(query.order_by(Submission.id)).all()



def create_regrade(session: Session, *, assignment: Assignment, scope: str, requested_by: User,
                   submissions: Sequence[Submission]) -> tuple[Regrade, list[tuple[int, int]]]:
    """A regrade of `submissions` on the bulk queue; returns it and the (id, attempt) to send.
    Submissions still being graded are skipped (their running attempt already uses the active
    golden set)."""
    regrade = Regrade(assignment_id=assignment.id, scope=scope, requested_by_id=requested_by.id)
    session.add(regrade)
    session.flush()
    to_send = []
    for sub in submissions:
        item = RegradeItem(regrade_id=regrade.id, submission_id=sub.id,
                           before_score=sub.score, before_run_id=sub.current_run_id)
        status = sub.status
        attempt = requeue(session, submission_id=sub.id, attempt=sub.attempts, from_status=status,
                          extra={"queue": "bulk", "regrade_id": regrade.id,
                                 "infra_failures": 0}) \
            if status in (Status.GRADED, Status.FAILED) else None
        if attempt is None:
            item.status, item.note = "skipped", f"was {status} when the regrade was asked"
        else:
            to_send.append((sub.id, attempt))
        session.add(item)
    session.flush()
    return regrade, to_send



def get_regrade(session: Session, *, regrade_id: int) -> Regrade | None:
    return session.get(Regrade, regrade_id)



def regrade_items(session: Session, *, regrade: Regrade) -> Sequence[tuple[RegradeItem, User]]:
    return session.execute(select(RegradeItem, User)
                           .join(Submission, RegradeItem.submission_id == Submission.id)
                           .join(User, Submission.user_id == User.id)
                           .where(RegradeItem.regrade_id == regrade.id)
                           .order_by(RegradeItem.submission_id)).tuples().all()



def _finish_regrade_item(session: Session, *, submission: Submission, run: GradingRun) -> None:
    session.execute(update(RegradeItem).where(
        RegradeItem.regrade_id == submission.regrade_id,
        RegradeItem.submission_id == submission.id).values(
        status="done" if run.outcome == "graded" else "failed",
        after_score=run.score, after_run_id=run.id if run.outcome == "graded" else None))
