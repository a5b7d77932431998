"""What a worker process needs, made once per process and passed to every plain function:
settings, database sessions, a dispatcher and the sandbox factory (tests inject their own)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from grader.errors import GoldenSetError
from grader.sandbox import Sandbox, student_sandbox
from grader.settings import GraderSettings, load_settings
from submissions_api.jobs import Dispatcher
from submissions_api.lms import outbox
from submissions_api.settings import Settings
from submissions_api.store import crud, rubrics
from submissions_api.store.db import session_factory


def configured_sandbox() -> Sandbox:
    """The grader's settings' backend for students' code (never the unisolated `process` one
    without an explicit opt-in: `student_sandbox`)."""
    return student_sandbox(load_settings())


@dataclass(frozen=True)
class WorkerContext:
    settings: Settings
    sessions: sessionmaker[Session]
    dispatcher: Dispatcher
    sandbox_factory: Callable[[], Sandbox] = configured_sandbox
    """Makes the sandbox of one job; the default is the configured backend (MLPGRADE_SANDBOX),
    never the unisolated `process` one without an explicit opt-in."""
    grader: GraderSettings = field(default_factory=rubrics.grader_settings)
    """The grader's settings (its runtime, data and assignment folders), read once a process."""

    @property
    def golden_cache(self) -> Path:
        """Where this host extracts the database's golden-set archives (a cache: nothing in it
        is ever marked current; the database's active set is the only registry)."""
        return self.settings.home / "golden-cache"

    def golden_archive(self, sha256: str | None) -> Callable[[], bytes]:
        """Reads a golden-set archive when called, in a session of its own: `materialize`
        needs the bytes only on a host that has not extracted that set yet, so a grading
        does not fetch megabytes from the database each time."""
        def read() -> bytes:
            if sha256 is None:
                raise GoldenSetError("the run names no golden set archive")
            with self.sessions() as session:
                return crud.get_blob(session, sha256=sha256)
        return read


@cache
def _context(pid: int, settings: Settings) -> WorkerContext:
    dispatcher = Dispatcher(settings)
    outbox.notify_after_commit(settings.database_url, dispatcher.send_scores)
    return WorkerContext(settings=settings, sessions=session_factory(settings.database_url),
                         dispatcher=dispatcher)


def get_context(settings: Settings) -> WorkerContext:
    """This process's context (a forked pool child builds its own), over the settings the
    worker's app loaded once at start."""
    return _context(os.getpid(), settings)


def lease_owner() -> str:
    """A name for one execution: host, process and a random part."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
