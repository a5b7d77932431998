"""Manual grades: a TA's points for the manual rubric items of a student's assignment (one grade
per student, assignment and item; `submission_id` is the submission it was given on)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from submissions_api.lms import outbox
from submissions_api.store.crud.rubric import applied_points, set_applied
from submissions_api.store.models import Assignment, User, utcnow
from submissions_api.store.models_grading import Submission
from submissions_api.store.models_manual import ManualGrade, SavedComment

StudentKey = tuple[int, int]
"""(user_id, assignment_id): what manual points belong to."""


def manual_grades(session: Session, *, keys: Iterable[StudentKey]
                  ) -> dict[StudentKey, list[ManualGrade]]:
    """The manual grades of each (student, assignment) (an empty list for those without)."""
    grades: dict[StudentKey, list[ManualGrade]] = {k: [] for k in keys}
    users = {u for u, _ in grades}
    assignments = {a for _, a in grades}
    if grades:
        for g in session.scalars(select(ManualGrade)
                                 .where(ManualGrade.user_id.in_(users),
                                        ManualGrade.assignment_id.in_(assignments))
                                 .order_by(ManualGrade.id)):
            if (g.user_id, g.assignment_id) in grades:
                grades[g.user_id, g.assignment_id].append(g)
    return grades


def manual_by_login(session: Session, *, assignment: Assignment, user_id: int | None = None,
                    user_ids: Collection[int] | None = None
                    ) -> dict[str, tuple[set[str], float]]:
    """For each student (or the one `user_id`, or those of `user_ids`) with manual grades on
    the assignment: the items graded and their sum."""
    out: dict[str, tuple[set[str], float]] = {}
    query = (select(User.login, ManualGrade.item_id, ManualGrade.points)
             .join(User, User.id == ManualGrade.user_id)
             .where(ManualGrade.assignment_id == assignment.id))
    if user_id is not None:
        query = query.where(ManualGrade.user_id == user_id)
    if user_ids is not None:
        query = query.where(ManualGrade.user_id.in_(user_ids))
    for login, item, points in session.execute(query):
        items, total = out.get(login, (set(), 0.0))
        items.add(item)
        out[login] = (items, total + points)
    return out


def set_manual_grade(session: Session, *, submission: Submission, item_id: str, points: float,
                     comment: str, grader: User, adjustment: float | None = None,
                     applied: Iterable[int] | None = None) -> ManualGrade:
    """Record (or replace) a TA's points for one manual item of the submission's student and
    assignment, noting the submission they were given on. `applied`: the rubric items now
    applied (None: those applied stay); `adjustment` None: what makes the applied items and it
    come to `points`. The grade's version moves on; the student's LMS row too."""
    grade = session.scalars(select(ManualGrade).where(
        ManualGrade.user_id == submission.user_id,
        ManualGrade.assignment_id == submission.assignment_id,
        ManualGrade.item_id == item_id)).first()
    if grade is None:
        grade = ManualGrade(user_id=submission.user_id, assignment_id=submission.assignment_id,
                            item_id=item_id, version=0, adjustment=0.0)
        session.add(grade)
    grade.submission_id, grade.points, grade.comment = submission.id, points, comment
    grade.graded_by_id, grade.graded_at = grader.id, utcnow()
    grade.version += 1
    session.flush()
    if applied is not None:
        set_applied(session, grade=grade, rubric_item_ids=set(applied))
    grade.adjustment = adjustment if adjustment is not None else (
        points - applied_points(session, grade_ids=[grade.id]).get(grade.id, 0.0))
    session.flush()
    outbox.touch(session, submission.assignment_id, [submission.user_id])
    return grade


def saved_comments(session: Session, *, assignment: Assignment) -> Sequence[SavedComment]:
    return session.scalars(select(SavedComment)
                           .where(SavedComment.assignment_id == assignment.id)
                           .order_by(SavedComment.item_id, SavedComment.id)).all()


def save_comment(session: Session, *, assignment: Assignment, item_id: str, text: str,
                 author: User) -> SavedComment:
    """Keep `text` for reuse on the item (once: saving it again returns the existing one)."""
    row = session.scalars(select(SavedComment).where(
        SavedComment.assignment_id == assignment.id, SavedComment.item_id == item_id,
        SavedComment.text == text)).first()
    if row is None:
        row = SavedComment(assignment_id=assignment.id, item_id=item_id, text=text,
                           created_by_id=author.id)
        session.add(row)
        session.flush()
    return row


def delete_comment(session: Session, *, assignment: Assignment, comment_id: int) -> bool:
    row = session.get(SavedComment, comment_id)
    if row is None or row.assignment_id != assignment.id:
        return False
    session.delete(row)
    session.flush()
    return True
