"""The reaper: re-queues submissions whose worker died (expired lease) or whose message was lost
(queued for long while its queue is empty). Safe to run in every worker at once: each change is
a compare-and-set on the attempt number (store/lifecycle.py). A lost worker counts as one of our
failures for the retry policy (worker/retry.py); its re-queued attempt is sent at once, since no
failing job needs time to recover.

Every time it compares is the database's (a lease's expiry, when a submission was queued): the
hosts' own clocks never meet. A queue whose size the broker cannot tell (it is down) is not
taken for empty: nothing is re-sent (a re-send would not arrive either, and would use up an
attempt), until the broker answers again."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from submissions_api.lms import outbox, passback
from submissions_api.store import crud, lifecycle, rubrics
from submissions_api.store.models_grading import GradingRun, QueueKind, Status
from worker.context import WorkerContext
from worker.health import regrade_failed
from worker.retry import GiveUp, next_attempt

log = logging.getLogger(__name__)


def reap_once(ctx: WorkerContext, *, now: datetime | None = None) -> dict[str, list[int]]:
    """One pass; returns the ids re-queued and failed. `now` (tests): the database's time
    otherwise."""
    settings = ctx.settings
    to_send: list[tuple[int, int, str]] = []
    failed: list[int] = []
    with ctx.sessions() as session:
        now = now or crud.db_now(session)
        for sub in crud.expired_leases(session, now=now):
            failures = sub.infra_failures + 1
            if isinstance(next_attempt(failures, settings), GiveUp):
                if lifecycle.fail_lost(session, submission_id=sub.id, attempt=sub.attempts,
                                       failures=failures):
                    failed.append(sub.id)
                continue
            attempt = lifecycle.requeue_lost(session, submission_id=sub.id, attempt=sub.attempts,
                                             failures=failures)
            if attempt:
                to_send.append((sub.id, attempt, sub.queue))
        session.commit()
    with ctx.sessions() as session:
        stale = crud.stale_queued(session, before=now - timedelta(seconds=settings.requeue_after))
        sizes: dict[str, int | None] = {}
        for sub in stale:
            if sub.queue not in sizes:
                sizes[sub.queue] = ctx.dispatcher.queue_size(sub.queue)
            if sizes[sub.queue] != 0:  # messages wait there (this one may be among them), or
                continue  # the broker cannot say: a re-send would not arrive either
            attempt = lifecycle.requeue(session, submission_id=sub.id, attempt=sub.attempts,
                                        from_status=Status.QUEUED)
            if attempt:
                to_send.append((sub.id, attempt, sub.queue))
        session.commit()
    for submission_id, attempt, kind in to_send:
        ctx.dispatcher.send_grade(submission_id, attempt, kind=kind)
    trainings = resend_training(ctx, now=now)
    if to_send or failed:
        log.warning("reaper: re-queued %s, failed %s", [s for s, _, _ in to_send], failed)
    return {"requeued": [s for s, _, _ in to_send], "failed": failed, "training": trainings}


def send_due_scores(ctx: WorkerContext) -> dict[str, int]:
    """Send the LMS the scores the outbox holds that are due (lms/passback.py): those whose
    message was lost, whose retry time came, or whose message waits behind a long bulk job."""
    with ctx.sessions() as session:
        due = outbox.due(session, now=crud.db_now(session), limit=1)
    return passback.drain(ctx.sessions, backoff=ctx.settings.retry_backoff) if due else {}


def resend_training(ctx: WorkerContext, *, now: datetime) -> list[int]:
    """Training runs still pending long after their run (or their last re-send), while the bulk
    queue is known to be empty: their message was lost, or their worker died. Re-sending is
    safe (a training result is recorded once per run) and capped by the retry policy: a run
    re-sent that often is recorded failed, with the reason for the TA."""
    with ctx.sessions() as session:
        runs = crud.pending_training(
            session, before=now - timedelta(seconds=ctx.settings.requeue_after))
        if not runs or ctx.dispatcher.queue_size(QueueKind.BULK) != 0:
            return []
        ids, given_up = [], []
        for run in runs:
            if isinstance(next_attempt(run.training_tries + 1, ctx.settings), GiveUp):
                if _give_up_training(session, run):
                    given_up.append(run.submission_id)
            elif lifecycle.training_resent(session, run_id=run.id, tries=run.training_tries):
                ids.append(run.id)
        session.commit()
    for run_id in ids:
        ctx.dispatcher.send_training(run_id)
    for submission_id in given_up:  # what its training run would have sent once recorded
        ctx.dispatcher.send_similarity("submission", submission_id)
    if ids:
        log.warning("reaper: re-sent training runs %s", ids)
    return ids


def _give_up_training(session: Session, run: GradingRun) -> bool:
    sub = crud.get_submission(session, submission_id=run.submission_id)
    error = (f"the training run was sent {run.training_tries + 1} times and never finished "
             "(its worker was lost each time)")
    if not lifecycle.training_failed(session, run_id=run.id, error=error,
                                     item_id=rubrics.assignment(sub.assignment.slug).training_id):
        return False
    log.warning("reaper: training run of run %s failed: %s", run.id, error)
    return True


def _every(name: str, interval: float, step: Callable[[], object],
           stop: threading.Event | None = None) -> threading.Thread:
    """`step` every `interval` seconds in a daemon thread of this process, a failed pass logged
    and the next one made; `stop` (tests) ends it."""
    stop = stop or threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                step()
            except Exception:
                log.exception("%s pass failed", name)

    thread = threading.Thread(target=loop, name=f"mlpgrade-{name}", daemon=True)
    thread.start()
    return thread


def start_reaper_thread(ctx_factory: Callable[[], WorkerContext], interval: float
                        ) -> threading.Thread:
    """Run `reap_once` every `interval` seconds in a daemon thread of this process, and re-grade
    what failed through our fault while no host is sick."""
    def step() -> None:
        ctx = ctx_factory()
        reap_once(ctx)
        regrade_failed(ctx)  # once no host is sick (worker/health.py)

    return _every("reaper", interval, step)


def start_sender_thread(ctx_factory: Callable[[], WorkerContext], interval: float,
                        stop: threading.Event | None = None) -> threading.Thread:
    """On a worker of the bulk queue: `send_due_scores` every `interval` seconds in a daemon
    thread of this process, beside its pool. The `worker.send_scores` message a change sends
    runs at once when the pool is free, but waits behind whatever bulk job the pool runs (a
    training run, a regrade of a class): this thread sends the score meanwhile, and one whose
    message was lost. The outbox's claims let both send at once, each row once. `stop` (tests)
    ends the thread."""
    return _every("scores", interval, lambda: send_due_scores(ctx_factory()), stop)
