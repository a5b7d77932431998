"""What a worker process needs: settings, database sessions, a dispatcher. Made once per process."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from functools import cache

from sqlalchemy.orm import Session, sessionmaker

from submissions_api.jobs import Dispatcher
from submissions_api.settings import Settings, load_settings
from submissions_api.store.db import session_factory


@dataclass(frozen=True)
class WorkerContext:
    settings: Settings
    sessions: sessionmaker[Session]
    dispatcher: Dispatcher


@cache
def _context(pid: int) -> WorkerContext:
    settings = load_settings()
    return WorkerContext(settings=settings, sessions=session_factory(settings.database_url),
                         dispatcher=Dispatcher(settings))


def get_context() -> WorkerContext:
    """This process's context (a forked pool child builds its own)."""
    return _context(os.getpid())


def lease_owner() -> str:
    """A name for one execution: host, process and a random part."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
