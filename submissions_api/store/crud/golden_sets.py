"""Golden sets: rows of the database registry (the service's only one)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from submissions_api.store.models import Assignment, User
from submissions_api.store.models_golden import GoldenSet, GoldenStatus


def create_golden_set(session: Session, *, assignment: Assignment, created_by: User | None,
                      status: GoldenStatus, values: dict[str, Any] | None = None) -> GoldenSet:
    """A new golden set in its first status (generating, or verifying for an upload); its later
    changes are in store/golden_lifecycle.py. `created_by` None: made by the service for itself."""
    row = GoldenSet(assignment_id=assignment.id, status=GoldenStatus(status),
                    created_by_id=created_by.id if created_by else None, **(values or {}))
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



