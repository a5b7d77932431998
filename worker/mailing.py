"""Mailing sign-in links on the bulk worker: one send, and when the mail server is down, the
same link again later with the one retry policy (worker/retry.py); after the last try the link
is `failed` with the server's answer, on the users page, where staff send it again."""

from __future__ import annotations

import logging

from submissions_api import sign_in_links
from worker.context import WorkerContext
from worker.retry import Retry, next_attempt

log = logging.getLogger(__name__)


def send_sign_in_link(ctx: WorkerContext, *, link_id: int) -> str:
    """Deliver a queued link; re-send this job after a backoff while the server may come back."""
    outcome = sign_in_links.deliver(ctx.sessions, ctx.settings, link_id,
                                    max_attempts=ctx.settings.infra_retries + 1)
    if outcome.retry:
        step = next_attempt(outcome.attempts, ctx.settings)
        delay = step.delay if isinstance(step, Retry) else ctx.settings.retry_backoff
        log.warning("sign-in link %s not sent (%s): again in %.0f s", link_id, outcome.error,
                    delay)
        ctx.dispatcher.send_sign_in_link(link_id, countdown=delay)
    elif outcome.status == sign_in_links.FAILED:
        log.warning("sign-in link %s failed for good: %s", link_id, outcome.error)
    return outcome.status
