"""Grading runs: one result per (submission, attempt), and their training runs."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from submissions_api.store.models_grading import (
    GradingRun,
    RunOutcome,
    RunReason,
    Submission,
    TrainingStatus,
)


def list_runs(session: Session, *, submission_id: int) -> Sequence[GradingRun]:
    return session.scalars(select(GradingRun).where(GradingRun.submission_id == submission_id)
                           .order_by(GradingRun.attempt)).all()



def get_run(session: Session, *, run_id: int | None) -> GradingRun | None:
    return session.get(GradingRun, run_id) if run_id is not None else None









def pending_training(session: Session, *, before: datetime) -> Sequence[GradingRun]:
    """Graded runs whose training run has waited since before `before` (a lost message), since
    the run or since the reaper last re-sent it."""
    sent = func.coalesce(GradingRun.training_sent_at, GradingRun.finished_at)
    return session.scalars(select(GradingRun).where(GradingRun.training == TrainingStatus.PENDING,
                                                    sent < before)
                           .order_by(GradingRun.id)).all()



def recent_grading_seconds(session: Session, *, last: int = 20) -> float | None:
    """Median wall time of the last graded uploads (for wait estimates), or None without any.
    Regrades are left out (they run on the bulk queue, often warm): an upload's wait is made of
    uploads; the median, so one hung or refused hand-in does not move it."""
    runs = session.execute(select(GradingRun.started_at, GradingRun.finished_at)
                           .where(GradingRun.outcome == RunOutcome.GRADED,
                                  GradingRun.reason == RunReason.SUBMIT,
                                  GradingRun.started_at.is_not(None))
                           .order_by(GradingRun.id.desc()).limit(last)).all()
    spans = [(f - s).total_seconds() for s, f in runs if s and f]
    return statistics.median(spans) if spans else None


def recent_live_runs(session: Session, *, last: int = 60
                     ) -> list[tuple[datetime, datetime, datetime]]:
    """(received, started, finished) of the last graded uploads, oldest first: what wait
    estimates measure the service rate from (services/estimates.py). Regrades are left out
    (the bulk queue's own workers run them)."""
    rows = session.execute(select(Submission.received_at, GradingRun.started_at,
                                  GradingRun.finished_at)
                           .join(Submission, Submission.id == GradingRun.submission_id)
                           .where(GradingRun.outcome == RunOutcome.GRADED,
                                  GradingRun.reason == RunReason.SUBMIT,
                                  GradingRun.started_at.is_not(None),
                                  GradingRun.finished_at.is_not(None))
                           .order_by(GradingRun.id.desc()).limit(last)).all()
    return [(r, s, f) for r, s, f in reversed(rows)]
