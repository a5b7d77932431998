"""Manual grades: a TA's points for the manual rubric items of a submission."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from submissions_api.store.models import Assignment, ManualGrade, Submission, User, utcnow


def manual_grades(session: Session, *, submission_ids: Sequence[int]
                  ) -> dict[int, list[ManualGrade]]:
    """The manual grades of each submission (an empty list for those without any)."""
    grades: dict[int, list[ManualGrade]] = {i: [] for i in submission_ids}
    if submission_ids:
        for g in session.scalars(select(ManualGrade)
                                 .where(ManualGrade.submission_id.in_(list(submission_ids)))
                                 .order_by(ManualGrade.id)):
            grades.setdefault(g.submission_id, []).append(g)
    return grades



def manual_items_graded(session: Session, *, assignment: Assignment) -> dict[int, set[str]]:
    """For each submission of the assignment with manual grades, the items graded."""
    out: dict[int, set[str]] = {}
    for sub_id, item in session.execute(
            select(ManualGrade.submission_id, ManualGrade.item_id)
            .join(Submission, Submission.id == ManualGrade.submission_id)
            .where(Submission.assignment_id == assignment.id)):
        out.setdefault(sub_id, set()).add(item)
    return out



def set_manual_grade(session: Session, *, submission: Submission, item_id: str, points: float,
                     comment: str, grader: User) -> ManualGrade:
    """Record (or replace) a TA's points for one manual item; the submission's manual_score is
    the sum of its items' points."""
    grade = session.scalars(select(ManualGrade).where(
        ManualGrade.submission_id == submission.id, ManualGrade.item_id == item_id)).first()
    if grade is None:
        grade = ManualGrade(submission_id=submission.id, item_id=item_id)
        session.add(grade)
    grade.points, grade.comment = points, comment
    grade.graded_by_id, grade.graded_at = grader.id, utcnow()
    session.flush()
    submission.manual_score = session.scalar(
        select(func.sum(ManualGrade.points)).where(ManualGrade.submission_id == submission.id))
    session.flush()
    return grade
