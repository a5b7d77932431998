"""Reads and writes of cluster hints and their reach (see store/models_hints.py)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from submissions_api.store.db import insert_new
from submissions_api.store.models import utcnow
from submissions_api.store.models_hints import ClusterHint, HintReach


def list_hints(session: Session, *, assignment_id: int) -> list[ClusterHint]:
    return list(session.scalars(select(ClusterHint).where(
        ClusterHint.assignment_id == assignment_id).order_by(ClusterHint.id)))


def hints_for(session: Session, *, assignment_id: int, clusters: Sequence[str]
              ) -> list[ClusterHint]:
    if not clusters:
        return []
    return list(session.scalars(select(ClusterHint).where(
        ClusterHint.assignment_id == assignment_id, ClusterHint.cluster.in_(clusters))
        .order_by(ClusterHint.id)))


def put_hint(session: Session, *, assignment_id: int, cluster: str, kind: str, fix_first: str,
             signature: str, text: str, written_by_id: int | None) -> ClusterHint:
    """Write the cluster's hint (a new one, or the text of the one there)."""
    hint = session.scalar(select(ClusterHint).where(
        ClusterHint.assignment_id == assignment_id, ClusterHint.cluster == cluster))
    if hint is None:
        hint = ClusterHint(assignment_id=assignment_id, cluster=cluster, kind=kind,
                           fix_first=fix_first, signature=signature, text=text)
        session.add(hint)
    hint.text, hint.written_by_id, hint.updated_at = text, written_by_id, utcnow()
    session.flush()
    return hint


def delete_hint(session: Session, *, assignment_id: int, cluster: str) -> bool:
    hint = session.scalar(select(ClusterHint).where(
        ClusterHint.assignment_id == assignment_id, ClusterHint.cluster == cluster))
    if hint is not None:
        session.delete(hint)
        session.flush()
    return hint is not None


def note_reach(session: Session, *, hint_ids: Sequence[int], user_id: int) -> None:
    """Count these hints as having reached the student (once each; a second tab's insert at the
    same time yields)."""
    if not hint_ids:
        return
    insert_new(session, HintReach,
               [{"hint_id": h, "user_id": user_id, "first_seen": utcnow()} for h in hint_ids],
               [HintReach.hint_id, HintReach.user_id])


def reach_counts(session: Session, *, hint_ids: Sequence[int]) -> dict[int, int]:
    """hint id → how many students it reached."""
    if not hint_ids:
        return {}
    rows = session.execute(select(HintReach.hint_id, func.count()).where(
        HintReach.hint_id.in_(hint_ids)).group_by(HintReach.hint_id)).all()
    return {hint_id: count for hint_id, count in rows}
