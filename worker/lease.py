"""Keeping a lease alive while its work goes on: a submission's while it is graded, a golden
set's while the service makes it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from submissions_api.store import golden_lifecycle, lifecycle

log = logging.getLogger(__name__)


class Heartbeat:
    """Renews a lease every third of its length in a thread (`renew` returns whether it still
    holds). If the worker dies, renewals stop and, once the lease expires, the reaper re-queues
    the work (a submission) or another worker takes it over (a golden set)."""

    def __init__(self, sessions: sessionmaker[Session], renew: Callable[[Session], bool], *,
                 lease_seconds: float, what: str) -> None:
        self.sessions, self.renew, self.lease_seconds, self.what = sessions, renew, \
            lease_seconds, what
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                with self.sessions() as session:
                    ok = self.renew(session)
                    session.commit()
            except Exception:
                log.exception("could not renew the lease of %s", self.what)
                continue
            if not ok:
                log.warning("lost the lease of %s", self.what)
                return


def submission_lease(sessions: sessionmaker[Session], *, submission_id: int, attempt: int,
                     owner: str, lease_seconds: float) -> Heartbeat:
    """The heartbeat of one attempt of a submission."""
    return Heartbeat(sessions, lambda session: lifecycle.renew_lease(
        session, submission_id=submission_id, attempt=attempt, owner=owner,
        lease_seconds=lease_seconds), lease_seconds=lease_seconds,
        what=f"submission {submission_id} attempt {attempt}")


def golden_lease(sessions: sessionmaker[Session], *, golden_id: int, owner: str,
                 lease_seconds: float) -> Heartbeat:
    """The heartbeat of a golden set the service is making."""
    return Heartbeat(sessions, lambda session: golden_lifecycle.renew_golden_lease(
        session, golden_id=golden_id, owner=owner, lease_seconds=lease_seconds),
        lease_seconds=lease_seconds, what=f"golden set {golden_id}")
