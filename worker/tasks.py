"""Celery tasks: a few lines of glue each, taking ids; the work is in plain functions."""

from __future__ import annotations

from submissions_api.lms import passback, roster
from worker import admission, golden_jobs, grading, mailing, similarity, training
from worker.app import app, settings
from worker.context import get_context, lease_owner


@app.task(name="worker.grade_submission")
def grade_submission(submission_id: int, attempt: int) -> str:
    """Grade one attempt, once admitted (worker/admission.py); idempotent, since results are
    keyed by (submission, attempt)."""
    with admission.gate():
        return grading.grade_submission(get_context(settings), submission_id=submission_id,
                                        attempt=attempt, owner=lease_owner())


@app.task(name="worker.train_run")
def train_run(run_id: int, tries: int = 0) -> str:
    """The training run of a graded run (bulk queue), once the live queue is empty (at most
    admission.DEFER_MOST later); recorded once per run."""
    admission.after_live(get_context(settings).sessions)
    return training.train_run(get_context(settings), run_id=run_id, tries=tries)


@app.task(name="worker.prepare_golden_set")
def prepare_golden_set(golden_id: int, action: str, tries: int = 0) -> str:
    """Generate and/or verify a golden set an instructor asked for (bulk queue)."""
    return golden_jobs.prepare_golden_set(get_context(settings), golden_id=golden_id,
                                          action=action, tries=tries)


@app.task(name="worker.similarity_index")
def similarity_index(kind: str, ident: int) -> str:
    """Compare a graded submission or an imported hand-in with its assignment's (bulk queue),
    once the live queue is empty (at most admission.DEFER_MOST later)."""
    admission.after_live(get_context(settings).sessions)
    return similarity.index(get_context(settings), kind=kind, ident=ident)


@app.task(name="worker.ensure_golden_set")
def ensure_golden_set(assignment_id: int) -> str:
    """Make an assignment's first golden set, under a lease (sent by `serve` and by gradings
    that find none)."""
    return golden_jobs.ensure_active(get_context(settings), assignment_id=assignment_id,
                                     owner=lease_owner())


@app.task(name="worker.send_sign_in_link")
def send_sign_in_link(link_id: int) -> str:
    """Mail one queued sign-in link (bulk queue); a sent or failed link is not sent again."""
    return mailing.send_sign_in_link(get_context(settings), link_id=link_id)


@app.task(name="worker.send_scores")
def send_scores() -> dict[str, int]:
    """Send the LMS every score the outbox holds that is due (bulk queue)."""
    ctx = get_context(settings)
    return passback.drain(ctx.sessions, backoff=settings.retry_backoff)


@app.task(name="worker.sync_roster")
def sync_roster(context_pk: int) -> dict[str, int]:
    """Sync an LMS course's members into our users (bulk queue), as staff asked; a failure is
    the course's note for staff (the LMS refused or is down: they press again)."""
    try:
        return roster.sync_context(get_context(settings).sessions, context_pk)
    except roster.RosterError as exc:
        return {"error": str(exc)}
