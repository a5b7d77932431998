"""Grading one attempt of a submission: claim the lease, grade, record exactly one result.

Any exception while grading is ours (a student's fault is a score inside the report): the attempt
is recorded as an infrastructure error and retried with backoff, then the submission is marked
failed without counting toward the student's limit. Never a silent zero.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from grader.golden.archive import materialize
from submissions_api.store import crud
from submissions_api.store.models import Status, utcnow
from worker.context import WorkerContext
from worker.lease import LeaseKeeper

log = logging.getLogger(__name__)


def has_training(assignment: str) -> bool:
    from grader.rubric import load_assignment

    return load_assignment(assignment).has_training


@dataclass(frozen=True)
class Job:
    """What grading needs, read while the lease is taken."""

    data: bytes
    assignment: str
    golden_version: str | None
    golden_archive: bytes | None
    queue: str
    infra_failures: int


def grade_submission(ctx: WorkerContext, *, submission_id: int, attempt: int, owner: str) -> str:
    """Grade attempt `attempt`; returns graded, retry, failed, stale (message for an attempt no
    longer current, or already taken) or lost (lease taken from us meanwhile: result dropped)."""
    job = claim(ctx, submission_id=submission_id, attempt=attempt, owner=owner)
    if job is None:
        return "stale"
    started = utcnow()
    with LeaseKeeper(ctx.sessions, submission_id=submission_id, attempt=attempt, owner=owner,
                     lease_seconds=ctx.settings.lease_seconds):
        report, error = run_grader(ctx, job)
    return record(ctx, job, submission_id=submission_id, attempt=attempt, owner=owner,
                  report=report, error=error, started_at=started)


def claim(ctx: WorkerContext, *, submission_id: int, attempt: int, owner: str) -> Job | None:
    with ctx.sessions() as session:
        if not crud.claim_submission(session, submission_id=submission_id, attempt=attempt,
                                     owner=owner, lease_seconds=ctx.settings.lease_seconds):
            session.rollback()
            log.info("submission %s attempt %s: stale or taken, dropped", submission_id, attempt)
            return None
        session.commit()
        sub = crud.get_submission(session, submission_id=submission_id)
        golden = crud.get_golden_set(session, golden_id=sub.assignment.active_golden_id) \
            if sub.assignment.active_golden_id else None
        return Job(data=crud.get_blob(session, sha256=sub.blob_sha256),
                   assignment=sub.assignment.slug,
                   golden_version=golden.version if golden else None,
                   golden_archive=crud.get_blob(session, sha256=golden.archive_sha256)
                   if golden else None, queue=sub.queue, infra_failures=sub.infra_failures)


def run_grader(ctx: WorkerContext, job: Job) -> tuple[dict | None, str]:
    """The automatic tests' report as JSON, or None and why we failed (never the student's
    fault). The training run follows on the bulk queue (worker.training)."""
    from grader.grade import grade_handin
    from grader.sandbox import get_sandbox

    try:
        golden = None
        if job.golden_version:
            golden = materialize(root=ctx.settings.home / "golden", assignment=job.assignment,
                                 version=job.golden_version, archive=job.golden_archive)
        report = grade_handin(job.data, assignment=job.assignment, golden=golden,
                              sandbox=get_sandbox(), training=False)
        return {**report.to_dict(), "artifacts": []}, ""
    except Exception as exc:  # noqa: BLE001 - InfrastructureError or our own bug: retried
        log.exception("grading failed on our side")
        return None, f"{type(exc).__name__}: {exc}"[:4000]


def record(ctx: WorkerContext, job: Job, *, submission_id: int, attempt: int, owner: str,
           report: dict | None, error: str, started_at) -> str:  # noqa: ANN001
    settings = ctx.settings
    with ctx.sessions() as session:
        sub = crud.get_submission(session, submission_id=submission_id)
        if report is not None:
            run = crud.record_run(session, submission=sub, attempt=attempt, owner=owner,
                                  report=report, error="", started_at=started_at,
                                  next_status=Status.GRADED,
                                  training="pending" if has_training(job.assignment) else None)
            outcome = "graded"
        else:
            failures = job.infra_failures + 1
            if failures > settings.infra_retries:
                run = crud.record_run(session, submission=sub, attempt=attempt, owner=owner,
                                      report=None, error=error, started_at=started_at,
                                      next_status=Status.FAILED,
                                      values={"infra_failures": failures, "error": error,
                                              "counts_toward_limit": False})
                outcome = "failed"
            else:
                delay = settings.retry_backoff * 2 ** (failures - 1)
                run = crud.record_run(session, submission=sub, attempt=attempt, owner=owner,
                                      report=None, error=error, started_at=started_at,
                                      next_status=Status.QUEUED,
                                      values={"infra_failures": failures, "error": error,
                                              "attempts": attempt + 1,
                                              "enqueued_at": utcnow() + timedelta(seconds=delay)})
                outcome = "retry"
        if run is None:
            session.rollback()
            log.warning("submission %s attempt %s: lease lost, result dropped", submission_id,
                        attempt)
            return "lost"
        train = run.id if run.training == "pending" else None
        session.commit()
    if outcome == "retry":
        ctx.dispatcher.send_grade(submission_id, attempt + 1, kind=job.queue, countdown=delay)
    if train is not None:
        ctx.dispatcher.send_training(train)
    log.info("submission %s attempt %s: %s", submission_id, attempt, outcome)
    return outcome
