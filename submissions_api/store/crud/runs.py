"""Grading runs: one result per (submission, attempt), and their training runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from submissions_api.store.crud.blobs import put_blob
from submissions_api.store.crud.regrades import _finish_regrade_item
from submissions_api.store.crud.submissions import _cas
from submissions_api.store.models import (
    GradingRun,
    Status,
    Submission,
)
from submissions_api.store.summary import run_summary


def list_runs(session: Session, *, submission_id: int) -> Sequence[GradingRun]:
    return session.scalars(select(GradingRun).where(GradingRun.submission_id == submission_id)
                           .order_by(GradingRun.attempt)).all()



def get_run(session: Session, *, run_id: int | None) -> GradingRun | None:
    return session.get(GradingRun, run_id) if run_id is not None else None



def record_run(session: Session, *, submission: Submission, attempt: int, owner: str,
               report: dict[str, Any] | None, error: str, started_at: datetime,
               next_status: str, values: dict[str, Any] | None = None,
               training: str | None = None) -> GradingRun | None:
    """Write the one result of this attempt and move the submission on, if we still hold the
    lease; None (and nothing written) when the attempt was taken from us. `training`: "pending"
    when a training run is to follow (record_training)."""
    graded = report is not None
    changes = {"status": next_status, "lease_owner": None, "lease_expires_at": None,
               **(values or {})}
    if not _cas(session, submission_id=submission.id, attempt=attempt,
                statuses=(Status.RUNNING,), owner=owner, values=changes):
        return None
    run = GradingRun(submission_id=submission.id, attempt=attempt,
                     reason="regrade" if submission.regrade_id else "submit",
                     regrade_id=submission.regrade_id,
                     outcome="graded" if graded else "infrastructure_error",
                     score=report["score"] if graded else None,
                     max_score=report["max_score"] if graded else None,
                     golden_version=(report or {}).get("golden_version", ""),
                     grader_version=(report or {}).get("grader_version", ""),
                     report=report, error=error, worker=owner, started_at=started_at,
                     summary=run_summary(report) if graded else None,
                     training=training if graded else None)
    session.add(run)
    session.flush()
    if graded:
        session.execute(update(Submission).where(Submission.id == submission.id).values(
            current_run_id=run.id, score=run.score, error=""))
    if submission.regrade_id and next_status in (Status.GRADED, Status.FAILED):
        _finish_regrade_item(session, submission=submission, run=run)
    return run



def record_training(session: Session, *, run_id: int, report: dict[str, Any],
                    artifacts: dict[str, bytes], status: str) -> bool:
    """Attach a training run's outcome (report with the evidence, plots) to a graded run, once:
    False when it was recorded already (a duplicate message)."""
    values: dict[str, Any] = {"report": report, "training": status}
    if artifacts:
        values["artifacts"] = {name: put_blob(session, data=data)
                               for name, data in sorted(artifacts.items())}
    done = session.execute(update(GradingRun).where(GradingRun.id == run_id,
                                                    GradingRun.training == "pending")
                           .values(**values))
    return done.rowcount == 1



def pending_training(session: Session, *, before: datetime) -> Sequence[GradingRun]:
    """Graded runs whose training run has waited since before `before` (a lost message)."""
    return session.scalars(select(GradingRun).where(GradingRun.training == "pending",
                                                    GradingRun.finished_at < before)
                           .order_by(GradingRun.id)).all()



def recent_grading_seconds(session: Session, *, last: int = 20) -> float | None:
    """Mean wall time of the last graded runs (for wait estimates), or None without any."""
    runs = session.execute(select(GradingRun.started_at, GradingRun.finished_at)
                           .where(GradingRun.outcome == "graded",
                                  GradingRun.started_at.is_not(None))
                           .order_by(GradingRun.id.desc()).limit(last)).all()
    spans = [(f - s).total_seconds() for s, f in runs if s and f]
    return sum(spans) / len(spans) if spans else None
