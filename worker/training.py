"""The training run of a graded submission: get_training_stats in the sandbox, its checks and
plots attached to the run as evidence for the TA who grades the manual item.

It runs after the automatic tests, on the bulk queue, so the students' scores never wait for a
few seconds of training; once recorded it sends the run's similarity job (worker.similarity), so
a grading sends one message for both. Recorded once per run (compare-and-set on a pending
training run); our failures are retried with backoff (worker/retry.py), then recorded as failed
with the reason for the TA. A failure on a sick host (worker/health.py) costs the run no try: it
is sent again at once, for a host that is well, while this process waits for its own check.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from grader.golden.archive import materialize
from grader.grade import train_handin
from grader.results import GradeReport
from submissions_api import logs
from submissions_api.store import crud, lifecycle, rubrics
from submissions_api.store.models_grading import TrainingStatus
from worker import health
from worker.context import WorkerContext
from worker.retry import Retry, next_attempt

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    DONE = TrainingStatus.DONE
    FAILED = TrainingStatus.FAILED
    RETRY = "retry"
    STALE = "stale"
    """Nothing pending for this run: a duplicate message."""


@dataclass(frozen=True)
class TrainingJob:
    report: GradeReport
    data: bytes
    assignment: str
    golden_version: str
    archive_sha256: str | None
    submission_id: int


def train_run(ctx: WorkerContext, *, run_id: int, tries: int = 0) -> Outcome:
    """Run and record the training run of graded run `run_id` (`tries`: failures so far)."""
    job = _load(ctx, run_id=run_id)
    if job is None:
        return Outcome.STALE
    with logs.bind(submission_id=job.submission_id):  # its log lines name the submission too
        return _train(ctx, job, run_id=run_id, tries=tries)


def _train(ctx: WorkerContext, job: TrainingJob, *, run_id: int, tries: int) -> Outcome:
    try:
        golden = materialize(root=ctx.golden_cache, assignment=job.assignment,
                             version=job.golden_version,
                             archive=ctx.golden_archive(job.archive_sha256))
        result = train_handin(job.data, assignment=job.assignment, golden=golden,
                              sandbox=ctx.sandbox_factory(),
                              max_bytes=ctx.settings.upload_max_bytes, settings=ctx.grader)
        failure = ""
    except Exception as exc:
        log.exception("training run of run %s failed on our side", run_id)
        # the host's fault, not the hand-in's: no try used
        if health.hand_over_if_sick(ctx, lambda: ctx.dispatcher.send_training(run_id, tries)):
            return Outcome.RETRY
        decision = next_attempt(tries + 1, ctx.settings)
        if isinstance(decision, Retry):
            ctx.dispatcher.send_training(run_id, tries + 1, countdown=decision.delay)
            return Outcome.RETRY
        failure = f"{type(exc).__name__}: {exc}"
    with ctx.sessions() as session:
        if failure:
            recorded = lifecycle.training_failed(
                session, run_id=run_id, error=failure,
                item_id=rubrics.assignment(job.assignment).training_id)
        else:
            report = job.report.with_training(result)
            recorded = lifecycle.record_training(session, run_id=run_id,
                                                 report=report, artifacts=report.plots)
        if not recorded:
            session.rollback()
            return Outcome.STALE
        session.commit()
    # The graded run's similarity job follows its training run (one message on the live path).
    ctx.dispatcher.send_similarity("submission", job.submission_id)
    status = TrainingStatus.FAILED if failure else TrainingStatus.DONE
    log.info("run %s: training %s", run_id, status)
    return Outcome(status)


def _load(ctx: WorkerContext, *, run_id: int) -> TrainingJob | None:
    """The pending training run's inputs: its report, the hand-in, the run's own golden set."""
    with ctx.sessions() as session:
        run = crud.get_run(session, run_id=run_id)
        if run is None or run.training != TrainingStatus.PENDING:
            return None
        sub = crud.get_submission(session, submission_id=run.submission_id)
        golden = crud.get_golden_set(session, golden_id=run.golden_set_id) \
            if run.golden_set_id is not None else None
        return TrainingJob(report=GradeReport.from_dict(run.report),
                           data=crud.get_blob(session, sha256=sub.blob_sha256),
                           assignment=sub.assignment.slug, golden_version=run.golden_version,
                           archive_sha256=golden.archive_sha256 if golden else None,
                           submission_id=sub.id)
