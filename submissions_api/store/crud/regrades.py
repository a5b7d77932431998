"""Regrades: a batch of submissions re-graded on the bulk queue, item by item."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from submissions_api.store.models import Assignment, User
from submissions_api.store.models_grading import Regrade, RegradeItem, Submission


def regrade_candidates(session: Session, *, assignment: Assignment, latest_only: bool
                       ) -> Sequence[Submission]:
    query = select(Submission).where(Submission.assignment_id == assignment.id)
    if latest_only:
        latest = (select(func.max(Submission.id)).where(Submission.assignment_id == assignment.id)
                  .group_by(Submission.user_id))
        query = query.where(Submission.id.in_(latest))
    return session.scalars(query.order_by(Submission.id)).all()






def get_regrade(session: Session, *, regrade_id: int) -> Regrade | None:
    return session.get(Regrade, regrade_id)



def regrade_items(session: Session, *, regrade: Regrade) -> Sequence[tuple[RegradeItem, User]]:
    return session.execute(select(RegradeItem, User)
                           .join(Submission, RegradeItem.submission_id == Submission.id)
                           .join(User, Submission.user_id == User.id)
                           .where(RegradeItem.regrade_id == regrade.id)
                           .order_by(RegradeItem.submission_id)).tuples().all()



