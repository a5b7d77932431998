"""Every state change of a golden set, by the rules of store/lifecycle.py (compare-and-set on
the state it starts from; the caller commits, then sends).

    golden set   generating → verifying → ready | canary_failed; → error      [golden_*]
                 the service's own is leased to its maker, renewed while it lives
                 [ensure_golden_set, renew_golden_lease]
                 ready (canary passed) → the assignment's active set          [activate_*]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from submissions_api.store.crud.clock import db_now
from submissions_api.store.models import Assignment, User
from submissions_api.store.models_golden import GoldenSet, GoldenStatus


def _golden_cas(session: Session, *, golden_id: int, statuses: tuple[GoldenStatus, ...],
                values: dict[str, Any]) -> bool:
    result = session.execute(update(GoldenSet).where(GoldenSet.id == golden_id,
                                                     GoldenSet.status.in_(statuses))
                             .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def golden_generated(session: Session, *, golden_id: int, version: str, sha256: str,
                     manifest: dict[str, Any], archive_sha256: str) -> bool:
    """generating → verifying, with the set made (its archive stored as a blob)."""
    return _golden_cas(session, golden_id=golden_id, statuses=(GoldenStatus.GENERATING,), values={
        "status": GoldenStatus.VERIFYING, "version": version, "sha256": sha256,
        "numpy_version": manifest.get("numpy"), "manifest": manifest,
        "archive_sha256": archive_sha256})


def golden_verified(session: Session, *, golden_id: int, canary: dict[str, Any]
                    ) -> GoldenStatus | None:
    """verifying → ready or canary_failed, by the canary's result; None when not verifying."""
    passed = bool(canary["passed"])
    status = GoldenStatus.READY if passed else GoldenStatus.CANARY_FAILED
    ok = _golden_cas(session, golden_id=golden_id, statuses=(GoldenStatus.VERIFYING,), values={
        "status": status, "canary": canary, "canary_passed": passed})
    return status if ok else None


def golden_failed(session: Session, *, golden_id: int, error: str) -> bool:
    """generating | verifying → error (ours: shown to the instructor on the row)."""
    return _golden_cas(session, golden_id=golden_id,
                       statuses=(GoldenStatus.GENERATING, GoldenStatus.VERIFYING),
                       values={"status": GoldenStatus.ERROR, "error": error[:4000]})


def activate_golden_set(session: Session, *, assignment: Assignment, golden: GoldenSet,
                        by: User | None) -> bool:
    """Grade new submissions of `assignment` with `golden`; False (nothing changed) unless the
    set is ready with its canary passed. `by` None: the service itself (ensure_golden_set)."""
    if golden.status != GoldenStatus.READY or golden.canary_passed is not True:
        return False
    golden.activated_at, golden.activated_by_id = db_now(session), by.id if by else None
    assignment.active_golden_id = golden.id
    session.flush()
    return True


def activate_if_none(session: Session, *, golden: GoldenSet) -> bool:
    """Make a ready set the active one only while its assignment has none (the set the service
    made for itself must not replace one an instructor activated meanwhile)."""
    if golden.status != GoldenStatus.READY or golden.canary_passed is not True:
        return False
    won = session.execute(update(Assignment).where(Assignment.id == golden.assignment_id,
                                                   Assignment.active_golden_id.is_(None))
                          .values(active_golden_id=golden.id)
                          .execution_options(synchronize_session=False)).rowcount == 1
    if won:
        golden.activated_at = db_now(session)
        session.flush()
    return won


def _active_golden_id(session: Session, assignment_id: int) -> int | None:
    return session.scalar(select(Assignment.active_golden_id)
                          .where(Assignment.id == assignment_id))


def ensure_golden_set(session: Session, *, assignment_id: int, owner: str, lease_seconds: float
                      ) -> tuple[GoldenSet | None, bool]:
    """The set gradings of an assignment use: (its active set, False) when there is one;
    else (the set the service is making for itself, False) while its maker holds the lease;
    else a new such set, generating, leased to `owner`, and True: the caller makes it
    (generate, canary, activate_if_none) after committing, renewing the lease meanwhile
    (renew_golden_lease). One at a time per assignment, on any number of workers: a write on
    the assignment's row first serialises callers (a row lock on PostgreSQL, the write lock on
    SQLite). A set whose lease ran out (its maker died) is marked error and replaced."""
    active = _active_golden_id(session, assignment_id)
    if active is not None:  # the usual case: no write, so gradings do not queue on the row
        return session.get(GoldenSet, active), False
    session.execute(update(Assignment).where(Assignment.id == assignment_id)
                    .values(active_golden_id=Assignment.active_golden_id)
                    .execution_options(synchronize_session=False))
    active = _active_golden_id(session, assignment_id)  # again, now that callers are in line
    if active is not None:
        return session.get(GoldenSet, active), False
    now = db_now(session)
    live = golden_being_made(session, assignment_id=assignment_id, now=now)
    if live is not None:
        return live, False
    for golden in _service_sets_making(session, assignment_id):
        golden_failed(session, golden_id=golden.id,
                      error=f"abandoned: its maker {golden.lease_owner or ''} was lost".strip())
    golden = GoldenSet(assignment_id=assignment_id, created_by_id=None,
                       status=GoldenStatus.GENERATING, created_at=now, lease_owner=owner,
                       lease_expires_at=now + timedelta(seconds=lease_seconds))
    session.add(golden)
    session.flush()
    return golden, True


def _service_sets_making(session: Session, assignment_id: int) -> Sequence[GoldenSet]:
    return session.scalars(select(GoldenSet).where(
        GoldenSet.assignment_id == assignment_id, GoldenSet.created_by_id.is_(None),
        GoldenSet.status.in_((GoldenStatus.GENERATING, GoldenStatus.VERIFYING)))
        .order_by(GoldenSet.id)).all()


def golden_being_made(session: Session, *, assignment_id: int, now: datetime
                      ) -> GoldenSet | None:
    """The set the service is making for the assignment while its maker's lease holds."""
    for golden in _service_sets_making(session, assignment_id):
        if golden.lease_expires_at is not None and golden.lease_expires_at > now:
            return golden
    return None


def renew_golden_lease(session: Session, *, golden_id: int, owner: str, lease_seconds: float
                       ) -> bool:
    """Keep making a set (only while `owner` holds it and it is not finished)."""
    result = session.execute(update(GoldenSet).where(
        GoldenSet.id == golden_id, GoldenSet.lease_owner == owner,
        GoldenSet.status.in_((GoldenStatus.GENERATING, GoldenStatus.VERIFYING)))
        .values(lease_expires_at=db_now(session) + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False))
    return result.rowcount == 1
