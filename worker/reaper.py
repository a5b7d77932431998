"""The reaper: re-queues submissions whose worker died (expired lease) or whose message was lost
(queued for long while its queue is empty). Safe to run in every worker at once: each change is
a compare-and-set on the attempt number (store/lifecycle.py). A lost worker counts as one of our
failures for the retry policy (worker/retry.py); its re-queued attempt is sent at once, since no
failing job needs time to recover."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from submissions_api.store import crud, lifecycle
from submissions_api.store.models import QueueKind, Status, utcnow
from worker.context import WorkerContext
from worker.retry import GiveUp, next_attempt

log = logging.getLogger(__name__)


def reap_once(ctx: WorkerContext, *, now: datetime | None = None) -> dict[str, list[int]]:
    """One pass; returns the ids re-queued and failed."""
    now = now or utcnow()
    settings = ctx.settings
    to_send: list[tuple[int, int, str]] = []
    failed: list[int] = []
    with ctx.sessions() as session:
        for sub in crud.expired_leases(session, now=now):
            failures = sub.infra_failures + 1
            if isinstance(next_attempt(failures, settings), GiveUp):
                if lifecycle.fail_submission(session, submission_id=sub.id, attempt=sub.attempts,
                                        from_status=Status.RUNNING,
                                        error=f"the worker grading it was lost {failures} times"):
                    failed.append(sub.id)
                continue
            attempt = lifecycle.requeue(session, submission_id=sub.id, attempt=sub.attempts,
                                   from_status=Status.RUNNING, extra={"infra_failures": failures})
            if attempt:
                to_send.append((sub.id, attempt, sub.queue))
        session.commit()
    with ctx.sessions() as session:
        stale = crud.stale_queued(session, before=now - timedelta(seconds=settings.requeue_after))
        sizes: dict[str, int | None] = {}
        for sub in stale:
            if sub.queue not in sizes:
                sizes[sub.queue] = ctx.dispatcher.queue_size(sub.queue)
            if sizes[sub.queue]:  # messages still wait there: this one may be among them
                continue
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


def resend_training(ctx: WorkerContext, *, now: datetime) -> list[int]:
    """Training runs still pending long after their run, while the bulk queue is empty: their
    message was lost. Re-sending is safe: a training result is recorded once per run."""
    with ctx.sessions() as session:
        runs = crud.pending_training(
            session, before=now - timedelta(seconds=ctx.settings.requeue_after))
        ids = [r.id for r in runs]
    if not ids or ctx.dispatcher.queue_size(QueueKind.BULK) != 0:
        return []
    for run_id in ids:
        ctx.dispatcher.send_training(run_id)
    log.warning("reaper: re-sent training runs %s", ids)
    return ids


def start_reaper_thread(ctx_factory: Callable[[], WorkerContext], interval: float
                        ) -> threading.Thread:
    """Run `reap_once` every `interval` seconds in a daemon thread of this process."""
    def loop() -> None:
        stop = threading.Event()
        while not stop.wait(interval):
            try:
                reap_once(ctx_factory())
            except Exception:
                log.exception("reaper pass failed")

    thread = threading.Thread(target=loop, name="mlpgrade-reaper", daemon=True)
    thread.start()
    return thread
