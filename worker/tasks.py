"""Celery tasks: a few lines of glue each, taking ids; the work is in plain functions."""

from __future__ import annotations

from worker import golden_jobs, grading, reaper, training
from worker.app import app
from worker.context import get_context, lease_owner


@app.task(name="worker.grade_submission")
def grade_submission(submission_id: int, attempt: int) -> str:
    """Grade one attempt; idempotent, since results are keyed by (submission, attempt)."""
    return grading.grade_submission(get_context(), submission_id=submission_id, attempt=attempt,
                                    owner=lease_owner())


@app.task(name="worker.train_run")
def train_run(run_id: int, tries: int = 0) -> str:
    """The training run of a graded run (bulk queue); recorded once per run."""
    return training.train_run(get_context(), run_id=run_id, tries=tries)


@app.task(name="worker.prepare_golden_set")
def prepare_golden_set(golden_id: int, action: str) -> str:
    return golden_jobs.prepare_golden_set(get_context(), golden_id=golden_id, action=action)


@app.task(name="worker.reap")
def reap() -> dict:
    return reaper.reap_once(get_context())
