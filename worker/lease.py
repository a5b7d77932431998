"""Keeping a submission's lease alive while it is graded."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from submissions_api.store import lifecycle

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews the lease every third of its length in a thread. If the worker dies, renewals stop
    and the reaper re-queues the submission once the lease expires."""

    def __init__(self, sessions: sessionmaker[Session], *, submission_id: int, attempt: int,
                 owner: str, lease_seconds: float) -> None:
        self.sessions, self.owner, self.lease_seconds = sessions, owner, lease_seconds
        self.submission_id, self.attempt = submission_id, attempt
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                with self.sessions() as session:
                    ok = lifecycle.renew_lease(session, submission_id=self.submission_id,
                                               attempt=self.attempt, owner=self.owner,
                                               lease_seconds=self.lease_seconds)
                    session.commit()
            except Exception:
                log.exception("could not renew the lease of submission %s", self.submission_id)
                continue
            if not ok:
                log.warning("lost the lease of submission %s attempt %s", self.submission_id,
                            self.attempt)
                return
