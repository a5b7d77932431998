"""Faults injected into a service process we start, at startup (this folder goes first on its
PYTHONPATH, so Python imports this file before anything else). Each is off unless its variable
is set; the service's own code knows nothing of them.

MLPGRADE_TEST_CLOCK_SKEW=<seconds>: the process's clock is that far off (`datetime.now`,
`datetime.utcnow`, `datetime.today` as every module sees them), as a host whose clock drifted.

MLPGRADE_TEST_STOP_POSTGRES=<pid>:<port>:<arm file>: right after the first commit that stored a
submission while the arm file exists, stop that PostgreSQL (SIGINT, a fast shutdown) and wait
until its port refuses: the database drops between the commit and whatever comes next.

MLPGRADE_TEST_DIE_AFTER_COMMIT=<arm file>: right after the first commit that stored a submission
while the arm file exists, the process kills itself (SIGKILL): the upload is committed and its
answer is cut, as when the API dies mid-request.
"""

from __future__ import annotations

import datetime as _datetime
import os

_SKEW = os.environ.get("MLPGRADE_TEST_CLOCK_SKEW")
_STOP = os.environ.get("MLPGRADE_TEST_STOP_POSTGRES")
_DIE = os.environ.get("MLPGRADE_TEST_DIE_AFTER_COMMIT")

if _SKEW:
    _real = _datetime.datetime
    _delta = _datetime.timedelta(seconds=float(_SKEW))

    class _SkewedDateTime(_real):
        @classmethod
        def now(cls, tz=None):
            return _real.now(tz) + _delta

        @classmethod
        def utcnow(cls):
            return _real.utcnow() + _delta

        @classmethod
        def today(cls):
            return _real.today() + _delta

    _datetime.datetime = _SkewedDateTime

if _STOP:
    import signal
    import socket
    import time
    from pathlib import Path

    from sqlalchemy import event
    from sqlalchemy.orm import Session

    _pid, _port, _arm = _STOP.split(":", 2)

    def _refuses() -> bool:
        try:
            socket.create_connection(("127.0.0.1", int(_port)), timeout=0.2).close()
            return False
        except OSError:
            return True

    @event.listens_for(Session, "after_flush")
    def _note_submission(session, _context) -> None:
        if any(type(obj).__name__ == "Submission" for obj in session.new):
            session.info["stored_submission"] = True

    @event.listens_for(Session, "after_commit")
    def _stop_postgres(session) -> None:
        if not session.info.pop("stored_submission", False) or not Path(_arm).exists():
            return
        Path(_arm).unlink()
        os.kill(int(_pid), signal.SIGINT)
        deadline = time.monotonic() + 20
        while not _refuses() and time.monotonic() < deadline:
            time.sleep(0.05)

if _DIE:
    import signal
    from pathlib import Path

    from sqlalchemy import event
    from sqlalchemy.orm import Session

    @event.listens_for(Session, "after_flush")
    def _note_new_submission(session, _context) -> None:
        if any(type(obj).__name__ == "Submission" for obj in session.new):
            session.info["new_submission"] = True

    @event.listens_for(Session, "after_commit")
    def _die(session) -> None:
        if session.info.pop("new_submission", False) and Path(_DIE).exists():
            Path(_DIE).unlink()
            os.kill(os.getpid(), signal.SIGKILL)
