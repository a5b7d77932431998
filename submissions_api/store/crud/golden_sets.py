"""Golden sets: rows of the database registry (the service's only one)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from submissions_api.store.models import (
    Assignment,
    GoldenSet,
    User,
    utcnow,
)


def create_golden_set(session: Session, *, assignment: Assignment, created_by: User,
                      status: str, values: dict[str, Any] | None = None) -> GoldenSet:
    row = GoldenSet(assignment_id=assignment.id, created_by_id=created_by.id, status=status,
                    **(values or {}))
    session.add(row)
    session.flush()
    return row



def get_golden_set(session: Session, *, golden_id: int) -> GoldenSet | None:
    return session.get(GoldenSet, golden_id)



def list_golden_sets(session: Session, *, assignment: Assignment) -> Sequence[GoldenSet]:
    return session.scalars(select(GoldenSet).where(GoldenSet.assignment_id == assignment.id)
                           .order_by(GoldenSet.id)).all()



def update_golden_set(session: Session, *, golden: GoldenSet, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(golden, key, value)
    session.flush()



def activate_golden_set(session: Session, *, assignment: Assignment, golden: GoldenSet,
                        by: User) -> None:
    golden.activated_at, golden.activated_by_id = utcnow(), by.id
    assignment.active_golden_id = golden.id
    session.flush()
