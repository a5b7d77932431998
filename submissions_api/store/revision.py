"""The class revision: one number in the database that every committed write to what a
class-wide view reads (submissions, runs, manual points, extensions, assignments, users) moves
on, in the same transaction as the write. A process may keep a class-wide view (the gradebook,
the class statistics) for as long as the number it read before computing it is unchanged: the
views stay exact, in every API process and on every host, without being recomputed per request.

The number moves by itself: session events below notice such writes (unit-of-work flushes and
ORM `update()`/`delete()`/`insert()` statements) and bump the row as the transaction's last
statement, so the row lock is held only while committing. `epoch` is random per database, so a
recreated database never matches a view kept from an earlier one."""

from __future__ import annotations

from itertools import chain

from sqlalchemy import BigInteger, Integer, String, event, select, update
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from submissions_api.store.models import Base

TRACKED = frozenset({"submissions", "grading_runs", "manual_grades", "extensions", "assignments",
                     "users"})
UNREAD = frozenset({"progress", "lease_expires_at"})
"""Columns no class-wide view reads: an update of only these (a running test's progress, a
renewed lease) leaves the revision as it was."""
_CHANGED = "mlpgrade_class_changed"


class ClassRevision(Base):
    """The one row: `revision` moves on with every committed write to a TRACKED table."""

    __tablename__ = "class_revision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


def current(session: Session) -> tuple[str, int] | None:
    """(epoch, revision) as committed now; None where the row is missing or where this session
    holds writes to a TRACKED table that it has not committed (what it reads is nobody else's)."""
    if session.info.get(_CHANGED) or _touches(session):
        return None
    row = session.execute(select(ClassRevision.epoch, ClassRevision.revision)).first()
    return None if row is None else (row[0], row[1])


def _touches(session: Session) -> bool:
    return any(getattr(obj, "__tablename__", None) in TRACKED
               for obj in chain(session.new, session.dirty, session.deleted))


@event.listens_for(Session, "before_flush")
def _note_flush(session: Session, _context, _instances) -> None:
    if _touches(session):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        values = getattr(state.statement, "_values", None) or {}  # update().values(...)
        if getattr(table, "name", None) in TRACKED and not (
                state.is_update and values and {getattr(c, "key", c) for c in values} <= UNREAD):
            state.session.info[_CHANGED] = True


@event.listens_for(Session, "before_commit")
def _bump(session: Session) -> None:
    session.flush()  # what is still pending is noted first, and written before the row is locked
    if session.info.pop(_CHANGED, False):
        session.execute(update(ClassRevision).values(revision=ClassRevision.revision + 1))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGED, None)
