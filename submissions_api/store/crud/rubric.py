"""Rubric items, their applications to manual grades, annotations and regrade requests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from submissions_api.store.models_manual import ManualGrade
from submissions_api.store.models_rubric import (
    Annotation,
    RegradeRequest,
    RubricApplication,
    RubricItem,
)


def rubric_items(session: Session, *, assignment_id: int, item_id: str | None = None
                 ) -> Sequence[RubricItem]:
    """The assignment's rubric items (of one manual item), oldest first."""
    query = select(RubricItem).where(RubricItem.assignment_id == assignment_id)
    if item_id is not None:
        query = query.where(RubricItem.item_id == item_id)
    return session.scalars(query.order_by(RubricItem.id)).all()


def applied(session: Session, *, grade_ids: Iterable[int]) -> dict[int, set[int]]:
    """The rubric items applied to each of these grades."""
    out: dict[int, set[int]] = {}
    ids = list(grade_ids)
    if ids:
        for grade_id, item in session.execute(select(
                RubricApplication.grade_id, RubricApplication.rubric_item_id)
                .where(RubricApplication.grade_id.in_(ids))):
            out.setdefault(grade_id, set()).add(item)
    return out


def applied_points(session: Session, *, grade_ids: Iterable[int]) -> dict[int, float]:
    """The applied rubric items' points together, per grade (grades without any: absent)."""
    ids = list(grade_ids)
    if not ids:
        return {}
    return dict(session.execute(
        select(RubricApplication.grade_id, func.sum(RubricItem.points))
        .join(RubricItem, RubricItem.id == RubricApplication.rubric_item_id)
        .where(RubricApplication.grade_id.in_(ids)).group_by(RubricApplication.grade_id)).all())


def set_applied(session: Session, *, grade: ManualGrade, rubric_item_ids: set[int]) -> None:
    """Exactly these rubric items applied to the grade."""
    now = applied(session, grade_ids=[grade.id]).get(grade.id, set())
    if now - rubric_item_ids:
        session.execute(delete(RubricApplication).where(
            RubricApplication.grade_id == grade.id,
            RubricApplication.rubric_item_id.in_(now - rubric_item_ids)))
    for item in sorted(rubric_item_ids - now):
        session.add(RubricApplication(grade_id=grade.id, rubric_item_id=item))
    session.flush()


def grades_with(session: Session, *, rubric_item_id: int) -> Sequence[ManualGrade]:
    """The manual grades the rubric item is applied to."""
    return session.scalars(select(ManualGrade).join(
        RubricApplication, RubricApplication.grade_id == ManualGrade.id)
        .where(RubricApplication.rubric_item_id == rubric_item_id)
        .order_by(ManualGrade.id)).all()


def item_counts(session: Session, *, assignment_id: int) -> dict[int, int]:
    """How many students have each rubric item of the assignment."""
    return dict(session.execute(
        select(RubricApplication.rubric_item_id, func.count())
        .join(RubricItem, RubricItem.id == RubricApplication.rubric_item_id)
        .where(RubricItem.assignment_id == assignment_id)
        .group_by(RubricApplication.rubric_item_id)).all())


def annotations(session: Session, *, submission_id: int) -> Sequence[Annotation]:
    return session.scalars(select(Annotation).where(Annotation.submission_id == submission_id)
                           .order_by(Annotation.path, Annotation.first_line,
                                     Annotation.id)).all()


def regrade_requests(session: Session, *, assignment_id: int, user_id: int | None = None
                     ) -> Sequence[RegradeRequest]:
    """The assignment's regrade requests (of one student), waiting ones first, oldest first."""
    query = select(RegradeRequest).where(RegradeRequest.assignment_id == assignment_id)
    if user_id is not None:
        query = query.where(RegradeRequest.user_id == user_id)
    return session.scalars(query.order_by(RegradeRequest.answered_at.is_not(None),
                                          RegradeRequest.id)).all()


def waiting_requests(session: Session, *, assignment_id: int) -> int:
    """How many of the assignment's regrade requests no TA has answered yet."""
    return session.scalar(select(func.count()).select_from(RegradeRequest).where(
        RegradeRequest.assignment_id == assignment_id,
        RegradeRequest.answered_at.is_(None))) or 0
