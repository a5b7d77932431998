"""The database engine and sessions (no FastAPI: the worker shares this module)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    """An engine; SQLite gets WAL and a busy timeout so the API and workers can share the file."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


@cache
def _factory(url: str, pid: int) -> sessionmaker[Session]:
    # Keyed by pid: a forked Celery pool child must not reuse its parent's connections.
    return sessionmaker(make_engine(url), expire_on_commit=False)


def session_factory(url: str) -> sessionmaker[Session]:
    """The process's session factory for this database URL."""
    return _factory(url, os.getpid())


def dispose(url: str) -> None:
    """Close this process's pooled connections to `url` (tests, shutdown)."""
    factory = _factory(url, os.getpid())
    factory.kw["bind"].dispose()
    _factory.cache_clear()


def insert_new(session: Session, model: type, rows: list[dict[str, Any]], keys: list[Any]
               ) -> None:
    """Insert the rows whose `keys` (a unique constraint's columns) are not taken: the same
    row written by another transaction meanwhile makes this one yield, not fail (PostgreSQL and
    SQLite both say ON CONFLICT DO NOTHING)."""
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[
        session.get_bind().dialect.name]
    session.execute(insert(model).values(rows).on_conflict_do_nothing(index_elements=keys))
