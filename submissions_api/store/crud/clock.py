"""The one clock every host compares: the database's.

Leases, the reaper's "queued for long", deadlines and cooldowns order events between processes
on different hosts, whose clocks drift; each such time is read here, from the database, never
from the caller's clock (`models.utcnow` is for times only one process ever compares).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session


def db_now(session: Session) -> datetime:
    """The database's current time (UTC, aware). PostgreSQL: `clock_timestamp()` (not `now()`,
    which is the start of the transaction, possibly long ago after a lock wait); SQLite: the
    clock of the one host that holds the file."""
    if session.get_bind().dialect.name == "sqlite":
        value = session.scalar(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return session.scalar(select(func.clock_timestamp())).astimezone(UTC)
