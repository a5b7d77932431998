"""Class-wide queries read as plain rows (thousands of them: ORM objects were slow)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from grader.results import GradeReport
from submissions_api.store.models import Assignment, Role, User
from submissions_api.store.models_grading import GradingRun, Submission
from submissions_api.store.summary import run_summary


class StudentRow(NamedTuple):
    login: str
    name: str



class SubmissionRow(NamedTuple):
    id: int
    received_at: datetime
    status: str
    score: float | None
    late_penalty: float
    late: bool



def gradebook_rows(session: Session, *, assignment: Assignment, user_id: int | None = None,
                   user_ids: Collection[int] | None = None
                   ) -> list[tuple[StudentRow, SubmissionRow | None]]:
    """Every student (or the one `user_id`, or those of `user_ids`) with each of their
    submissions (outer join: students without any too), as plain rows: the class-wide views
    read thousands, which ORM objects made slow."""
    query = (
        select(User.login, User.name, Submission.id, Submission.received_at, Submission.status,
               Submission.score, Submission.late_penalty, Submission.late)
        .outerjoin(Submission, and_(Submission.user_id == User.id,
                                    Submission.assignment_id == assignment.id))
        .where(or_(User.role == Role.STUDENT, Submission.id.is_not(None)))
        .order_by(User.login, Submission.id))
    if user_id is not None:
        query = query.where(User.id == user_id)
    if user_ids is not None:
        query = query.where(User.id.in_(user_ids))
    rows = session.execute(query).all()
    return [(StudentRow(r[0], r[1]), SubmissionRow(*r[2:]) if r[2] is not None else None)
            for r in rows]



def current_summaries(session: Session, *, submission_ids: Sequence[int]
                      ) -> dict[int, dict[str, Any]]:
    """The run summaries (store.summary.run_summary) of these submissions' current runs, by
    submission id (a submission whose run has no report is left out)."""
    if not submission_ids:
        return {}
    rows = session.execute(select(Submission.id, GradingRun.id, GradingRun.summary).join(
        GradingRun, Submission.current_run_id == GradingRun.id)
        .where(Submission.id.in_(submission_ids))).all()
    summaries = {sub_id: summary for sub_id, _, summary in rows if summary}
    missing = {run_id: sub_id for sub_id, run_id, summary in rows if not summary}
    if missing:  # runs older than the column
        for run_id, report in session.execute(select(GradingRun.id, GradingRun.report)
                                              .where(GradingRun.id.in_(missing))).all():
            if report:
                summaries[missing[run_id]] = run_summary(GradeReport.from_dict(report))
    return summaries


def status_counts(session: Session, *, assignment: Assignment) -> dict[str, int]:
    rows = session.execute(select(Submission.status, func.count(Submission.id))
                           .where(Submission.assignment_id == assignment.id)
                           .group_by(Submission.status)).all()
    return {status: count for status, count in rows}


def logins_of(session: Session, *, user_ids: Collection[int]) -> set[str]:
    """The logins of these users."""
    return set(session.scalars(select(User.login).where(User.id.in_(user_ids))))
