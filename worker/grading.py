"""Grading one attempt of a submission: claim the lease, grade, record exactly one result.

Any exception while grading is ours (a student's fault is a score inside the report): the attempt
is recorded as an infrastructure error and retried with backoff (worker/retry.py), then the
submission is marked failed without counting toward the student's limit. Never a silent zero.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from grader.golden.archive import materialize
from grader.grade import grade_handin
from grader.progress import Progress
from grader.results import GradeReport
from grader.rubric import Assignment
from submissions_api.store import crud, lifecycle, rubrics
from worker import golden_jobs, health
from worker.context import WorkerContext
from worker.lease import submission_lease
from worker.retry import Retry, next_attempt

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    """What became of one grading message."""

    GRADED = "graded"
    RETRY = "retry"
    """Ours failed; the next attempt is sent with backoff."""
    FAILED = "failed"
    """Ours failed and the retry budget is spent: failed, not counted."""
    WAITING = "waiting"
    """Its assignment has no golden set yet: sent again later, costing no retry."""
    STALE = "stale"
    """The message is for an attempt no longer current, or already taken."""
    LOST = "lost"
    """The lease was taken from us meanwhile: our result was dropped."""


@dataclass(frozen=True)
class Job:
    """What grading needs, read while the lease is taken."""

    data: bytes
    assignment: Assignment
    assignment_id: int
    queue: str
    infra_failures: int
    started_at: datetime
    """When the claim was taken, on the database's clock."""
    golden_set_id: int
    """The assignment's active golden set when the claim was taken: the one it is graded with."""
    golden_version: str
    archive_sha256: str | None


@dataclass(frozen=True)
class Graded:
    report: GradeReport
    golden_set_id: int


def grade_submission(ctx: WorkerContext, *, submission_id: int, attempt: int, owner: str
                     ) -> Outcome:
    """Grade attempt `attempt` of a submission."""
    job = claim(ctx, submission_id=submission_id, attempt=attempt, owner=owner)
    if not isinstance(job, Job):
        return job
    with submission_lease(ctx.sessions, submission_id=submission_id, attempt=attempt, owner=owner,
                          lease_seconds=ctx.settings.lease_seconds):
        graded, error = run_grader(ctx, job, progress=progress_reporter(
            ctx, job, submission_id=submission_id, attempt=attempt, owner=owner))
    return record(ctx, job, submission_id=submission_id, attempt=attempt, owner=owner,
                  graded=graded, error=error, started_at=job.started_at)


def claim(ctx: WorkerContext, *, submission_id: int, attempt: int, owner: str
          ) -> Job | Outcome:
    """Take the attempt's lease and read what grading needs in the same transaction (the
    hand-in, its rubric, the assignment's active golden set): one round of the database on the
    live path. WAITING when the assignment has no active set yet (wait_for_golden); STALE when
    the message is stale or the attempt taken."""
    with ctx.sessions() as session:
        sub = crud.get_submission(session, submission_id=submission_id)
        golden_id = sub.assignment.active_golden_id if sub is not None else None
        if sub is not None and golden_id is None:
            session.rollback()
            return wait_for_golden(ctx, submission_id=submission_id, attempt=attempt,
                                   assignment_id=sub.assignment_id, queue=sub.queue)
        started_at = None if sub is None else lifecycle.claim_submission(
            session, submission_id=submission_id, attempt=attempt, owner=owner,
            lease_seconds=ctx.settings.lease_seconds)
        if started_at is None:
            session.rollback()
            log.info("submission %s attempt %s: stale or taken, dropped", submission_id, attempt)
            return Outcome.STALE
        golden = crud.get_golden_set(session, golden_id=golden_id)
        job = Job(data=crud.get_blob(session, sha256=sub.blob_sha256),
                  assignment=rubrics.assignment(sub.assignment.slug),
                  assignment_id=sub.assignment_id, queue=sub.queue,
                  infra_failures=sub.infra_failures, started_at=started_at,
                  golden_set_id=golden.id, golden_version=golden.version,
                  archive_sha256=golden.archive_sha256)
        session.commit()
    return job


def wait_for_golden(ctx: WorkerContext, *, submission_id: int, attempt: int, assignment_id: int,
                    queue: str) -> Outcome:
    """The submission's assignment has no active golden set yet: the attempt is postponed by
    `retry_backoff` (sent again then, costing no retry and no attempt), the golden job is asked
    for (unless a living maker is at it), and WAITING (STALE for a message no longer
    current)."""
    delay = ctx.settings.retry_backoff
    with ctx.sessions() as session:
        if not lifecycle.postpone(session, submission_id=submission_id, attempt=attempt,
                                  delay=delay):
            session.rollback()
            return Outcome.STALE
        session.commit()
    golden_jobs.request_golden(ctx, assignment_id=assignment_id)
    ctx.dispatcher.send_grade(submission_id, attempt, kind=queue, countdown=delay)
    log.info("submission %s attempt %s: no golden set yet, again in %s s", submission_id,
             attempt, delay)
    return Outcome.WAITING


def progress_reporter(ctx: WorkerContext, job: Job, *, submission_id: int, attempt: int,
                      owner: str) -> Progress:
    """A grader progress callback that stores which test runs on the submission (the student's
    live status line shows it), while this attempt holds the lease. The run's end is not
    stored: the result is recorded right after it (one commit fewer per grading), and the line
    shows progress only while the status is running."""
    names = {t.id: t.name for t in job.assignment.tests}

    def report(done: int, total: int, test_id: str | None) -> None:
        if test_id is None:
            return
        with ctx.sessions() as session:
            lifecycle.report_progress(session, submission_id=submission_id, attempt=attempt,
                                      owner=owner, progress={
                                          "done": done, "total": total,
                                          "test": names.get(test_id or "", test_id)})
            session.commit()
    return report


def run_grader(ctx: WorkerContext, job: Job, progress: Progress | None = None
               ) -> tuple[Graded | None, str]:
    """The automatic tests' report against the golden set active at the claim (extracted on
    this host once), or None and why we failed (never the student's fault). The training run
    follows on the bulk queue (worker.training)."""
    try:
        golden = materialize(root=ctx.golden_cache, assignment=job.assignment.slug,
                             version=job.golden_version,
                             archive=ctx.golden_archive(job.archive_sha256))
        report = grade_handin(job.data, assignment=job.assignment, golden=golden,
                              sandbox=ctx.sandbox_factory(), training=False,
                              max_bytes=ctx.settings.upload_max_bytes, progress=progress,
                              settings=ctx.grader)
        return Graded(report=report, golden_set_id=job.golden_set_id), ""
    except Exception as exc:
        log.exception("grading failed on our side")
        return None, f"{type(exc).__name__}: {exc}"[:4000]


def record(ctx: WorkerContext, job: Job, *, submission_id: int, attempt: int, owner: str,
           graded: Graded | None, error: str, started_at: datetime) -> Outcome:
    """Record the attempt's one result; then send what follows (a retry, a training run). A
    failure on a host that is sick (worker/health.py) is not charged: retried at once, on a
    host that is well, while this process waits for its own check to pass."""
    sick = "" if graded else health.sick_after_failure(ctx)
    failures = job.infra_failures + (0 if sick else 1)
    decision = None if graded else Retry(delay=0) if sick else next_attempt(failures, ctx.settings)
    with ctx.sessions() as session:
        sub = crud.get_submission(session, submission_id=submission_id)
        common = {"session": session, "submission": sub, "attempt": attempt, "owner": owner,
                  "started_at": started_at}
        if graded is not None:
            run = lifecycle.record_graded(**common, report=graded.report,
                                          golden_set_id=graded.golden_set_id,
                                          rubric_version=job.assignment.version,
                                          training=job.assignment.has_training)
            outcome = Outcome.GRADED
        else:
            retry_in = decision.delay if isinstance(decision, Retry) else None
            run = lifecycle.record_failure(**common, error=error, failures=failures,
                                           retry_in=retry_in, sick=sick)
            outcome = Outcome.FAILED if retry_in is None else Outcome.RETRY
        if run is None:
            session.rollback()
            log.warning("submission %s attempt %s: lease lost, result dropped", submission_id,
                        attempt)
            return Outcome.LOST
        train = run.id if run.training else None
        session.commit()
    if isinstance(decision, Retry):
        ctx.dispatcher.send_grade(submission_id, attempt + 1, kind=job.queue,
                                  countdown=decision.delay)
    if train is not None:  # one message: the training run sends the similarity job once recorded
        ctx.dispatcher.send_training(train)
    elif outcome == Outcome.GRADED:
        ctx.dispatcher.send_similarity("submission", submission_id)
    log.info("submission %s attempt %s: %s", submission_id, attempt, outcome)
    if sick:
        health.wait_until_well(ctx)
    return outcome
