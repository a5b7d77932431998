"""Waiting for a submission's state to change, without asking the database once per waiter.

A pending result's page asks for its status again and again until the score is in; during a
deadline's rush hundreds of pages do, once a second each, and every ask was a whole request
(sign-in, the submission, its queue position and wait estimate) answered with what the page
already showed. Now a page that shows a queued submission (or a pending training run) sends the
state it shows (`seen`: "<status>/<training>"), and the request waits here until that state is
no longer the submission's, or `WAIT` seconds pass (then its status line, place in the queue
and wait are sent fresh). A running grading's page still asks each second: its line counts
the seconds and names the test that runs, and a grading runs a second or a few. One task per
API process looks at the states of every submission waited on, in one query, every `EVERY`
seconds, and only while someone waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from submissions_api.store.models_grading import GradingRun, Submission

log = logging.getLogger(__name__)

EVERY = 0.25
"""Seconds between two looks at the waited-on submissions' states (all of them, one query)."""
WAIT = 10.0
"""Seconds a request waits at most for a change: how stale a queued result's line may get."""


def state(status: str, training: str | None) -> str:
    """What a page shows of a submission that a change must move: its status and its training
    run's (pending → done reloads the result page)."""
    return f"{status}/{training}"


class Changes:
    """The submissions waited on in this process, and the one task that watches them."""

    def __init__(self, sessions: Callable[[], Any], *, every: float = EVERY,
                 most: float = WAIT) -> None:
        self.sessions = sessions
        self.every, self.most = every, most
        self.waiting: dict[int, list[tuple[str, asyncio.Event]]] = {}
        self.task: asyncio.Task | None = None

    async def wait(self, submission_id: int, seen: str) -> None:
        """Return once the submission's state is not `seen`, or after `most` seconds."""
        entry = (seen, asyncio.Event())
        self.waiting.setdefault(submission_id, []).append(entry)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._watch())
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(entry[1].wait(), self.most)
        finally:
            entries = self.waiting.get(submission_id, [])
            if entry in entries:
                entries.remove(entry)
            if not entries:
                self.waiting.pop(submission_id, None)

    async def _watch(self) -> None:
        while self.waiting:
            try:
                states = await run_in_threadpool(self._states, list(self.waiting))
            except Exception:  # the database is down: each waiter asks for itself
                log.warning("watching submissions' states failed", exc_info=True)
                states = {}
            for submission_id, entries in list(self.waiting.items()):
                now = states.get(submission_id)
                for seen, event in entries:
                    if now != seen:
                        event.set()
            await asyncio.sleep(self.every)

    def _states(self, ids: list[int]) -> dict[int, str]:
        with self.sessions() as session:
            rows = session.execute(
                select(Submission.id, Submission.status, GradingRun.training)
                .outerjoin(GradingRun, GradingRun.id == Submission.current_run_id)
                .where(Submission.id.in_(ids))).all()
        return {row.id: state(row.status, row.training) for row in rows}
