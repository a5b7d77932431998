"""Worker hosts' health as they report it, and the submissions that failed through our fault."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from submissions_api.store.crud.clock import db_now
from submissions_api.store.models_grading import Regrade, Status, Submission
from submissions_api.store.models_hosts import WorkerHost

AUTO_REGRADE = "failed-ours"
"""The scope of the regrade the service starts itself for submissions that failed through our
fault; a submission that failed again after one is left to staff (no loop)."""


def report_host(session: Session, *, name: str, reason: str, now: datetime) -> None:
    """Record a host's self-check: `reason` empty when it passed (healthy), else why not."""
    host = session.get(WorkerHost, name)
    if host is None:
        try:
            with session.begin_nested():  # another process of the host may insert it first
                session.add(WorkerHost(name=name, sick=False, reason="", checked_at=now))
        except IntegrityError:
            pass
        host = session.get(WorkerHost, name)
    if reason and not host.sick:
        host.since = now
    elif not reason:
        host.since = None
    host.sick, host.reason, host.checked_at = bool(reason), reason[:2000], now
    session.flush()


SICK_REPORT_SECONDS = 300.0
"""A sick host renews its report at each self-check (MLPGRADE_SELF_CHECK_INTERVAL, far below
this); a report older than this is of a host that is gone (stopped, replaced), not counted."""


def sick_hosts(session: Session) -> Sequence[WorkerHost]:
    """The hosts sick now (their report renewed lately)."""
    since = db_now(session) - timedelta(seconds=SICK_REPORT_SECONDS)
    return session.scalars(select(WorkerHost).where(WorkerHost.sick.is_(True),
                                                    WorkerHost.checked_at >= since)
                           .order_by(WorkerHost.name)).all()


def failed_ours(session: Session, *, limit: int = 500) -> Sequence[Submission]:
    """Failed submissions (every `failed` is our fault: a student's mistakes are scores) not
    failed again after the service's own regrade of them."""
    auto = select(Regrade.id).where(Regrade.scope == AUTO_REGRADE)
    return session.scalars(select(Submission).where(
        Submission.status == Status.FAILED,
        or_(Submission.regrade_id.is_(None), Submission.regrade_id.not_in(auto)))
        .order_by(Submission.id).limit(limit)).all()
