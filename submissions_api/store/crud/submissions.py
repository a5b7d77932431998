"""Submissions: creating, reading, counting toward the limit, finding the ones to reap (their
state changes are in store/lifecycle.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from submissions_api.store.crud.blobs import put_blob
from submissions_api.store.models import Assignment, User
from submissions_api.store.models_grading import QueueKind, Status, Submission


def counted_submissions(session: Session, *, assignment: Assignment, user: User
                        ) -> tuple[int, datetime | None]:
    """How many of the student's submissions count toward the limit, and the latest one's time."""
    row = session.execute(select(func.count(Submission.id), func.max(Submission.received_at))
                          .where(Submission.assignment_id == assignment.id,
                                 Submission.user_id == user.id,
                                 Submission.counts_toward_limit.is_(True))).one()
    latest = row[1]
    if latest is not None and latest.tzinfo is None:  # func.max bypasses the column type
        latest = latest.replace(tzinfo=UTC)
    return row[0], latest



def create_submission(session: Session, *, user: User, assignment: Assignment, data: bytes,
                      filename: str, received_at: datetime, late: bool, penalty: float,
                      idempotency_key: str | None = None) -> Submission:
    sha = put_blob(session, data=data)
    sub = Submission(user_id=user.id, assignment_id=assignment.id, blob_sha256=sha,
                     size=len(data), filename=filename[:255], received_at=received_at,
                     late=late, late_penalty=penalty, status=Status.QUEUED, queue=QueueKind.LIVE,
                     attempts=1, enqueued_at=received_at, idempotency_key=idempotency_key)
    session.add(sub)
    session.flush()
    return sub



def same_upload(session: Session, *, user: User, assignment: Assignment, key: str | None,
                sha256: str, since: datetime | None) -> Submission | None:
    """The submission an upload repeats: the user's with this idempotency key (any
    assignment, any time), else theirs of the same bytes to the same assignment received
    after `since` (None: no such rule); None for a new upload."""
    if key:
        found = session.scalar(select(Submission).where(Submission.user_id == user.id,
                                                        Submission.idempotency_key == key))
        if found is not None:
            return found
    if since is None:
        return None
    return session.scalar(select(Submission).where(
        Submission.user_id == user.id, Submission.assignment_id == assignment.id,
        Submission.blob_sha256 == sha256, Submission.received_at >= since)
        .order_by(Submission.id).limit(1))


def get_submission(session: Session, *, submission_id: int) -> Submission | None:
    return session.get(Submission, submission_id)



def list_submissions(session: Session, *, assignment_id: int | None = None,
                     user_id: int | None = None, status: str | None = None,
                     limit: int = 100, offset: int = 0) -> Sequence[Submission]:
    query = (select(Submission).options(selectinload(Submission.user))  # one query, not one a row
             .order_by(Submission.id.desc()).limit(limit).offset(offset))
    if assignment_id is not None:
        query = query.where(Submission.assignment_id == assignment_id)
    if user_id is not None:
        query = query.where(Submission.user_id == user_id)
    if status:
        query = query.where(Submission.status == status)
    return session.scalars(query).all()



def queue_position(session: Session, *, submission: Submission) -> int:
    """1 when next in its queue, 0 when no longer queued."""
    if submission.status != Status.QUEUED:
        return 0
    ahead = session.scalar(select(func.count(Submission.id)).where(
        Submission.status == Status.QUEUED, Submission.queue == submission.queue,
        Submission.id < submission.id))
    return int(ahead or 0) + 1


def live_work(session: Session) -> bool:
    """Whether a live grading is queued or running: the work a deadline's students wait for."""
    return session.scalar(select(Submission.id).where(
        Submission.status.in_((Status.QUEUED, Status.RUNNING)),
        Submission.queue == QueueKind.LIVE).limit(1)) is not None


def queue_positions(session: Session, *, submissions: Sequence[Submission]) -> dict[int, int]:
    """queue_position of each of `submissions` (by id), in one query for a whole list: the
    queued submissions of their queues, in order."""
    positions = {sub.id: 0 for sub in submissions}
    queued = [sub for sub in submissions if sub.status == Status.QUEUED]
    if not queued:
        return positions
    order: dict[str, dict[int, int]] = {}
    for sub_id, queue in session.execute(
            select(Submission.id, Submission.queue)
            .where(Submission.status == Status.QUEUED,
                   Submission.queue.in_({sub.queue for sub in queued}),
                   Submission.id <= max(sub.id for sub in queued))
            .order_by(Submission.id)):
        places = order.setdefault(queue, {})
        places[sub_id] = len(places) + 1
    for sub in queued:
        positions[sub.id] = order.get(sub.queue, {}).get(sub.id, 0)
    return positions


















def expired_leases(session: Session, *, now: datetime) -> Sequence[Submission]:
    return session.scalars(select(Submission).where(Submission.status == Status.RUNNING,
                                                    Submission.lease_expires_at < now)).all()



def stale_queued(session: Session, *, before: datetime) -> Sequence[Submission]:
    return session.scalars(select(Submission).where(Submission.status == Status.QUEUED,
                                                    Submission.enqueued_at < before)).all()


def running_since(session: Session, *, queue: str) -> list[datetime]:
    """When each submission being graded from `queue` now was claimed (one per busy worker)."""
    return [t for t in session.scalars(select(Submission.started_at).where(
        Submission.status == Status.RUNNING, Submission.queue == queue)) if t is not None]


def submission_number(session: Session, *, submission: Submission) -> int:
    """The submission's place among its student's submissions of its assignment (1: first)."""
    return session.scalar(select(func.count(Submission.id)).where(
        Submission.assignment_id == submission.assignment_id,
        Submission.user_id == submission.user_id, Submission.id <= submission.id)) or 0
def previous_submission(session: Session, *, submission: Submission) -> Submission | None:
    """The same student's submission of the same assignment just before this one."""
    return session.scalars(select(Submission).where(
        Submission.user_id == submission.user_id,
        Submission.assignment_id == submission.assignment_id,
        Submission.id < submission.id).order_by(Submission.id.desc()).limit(1)).first()
