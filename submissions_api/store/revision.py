"""The class revision: one number in the database that every committed write to what a
class-wide view reads (submissions, runs, manual points, extensions, assignments, users) moves
on, in the same transaction as the write. A process may keep a class-wide view (the gradebook,
the class statistics) for as long as the number it read before computing it is unchanged: the
views stay exact, in every API process and on every host, without being recomputed per request.

The number moves by itself: session events below notice such writes (unit-of-work flushes and
ORM `update()`/`delete()`/`insert()` statements) and bump the row as the transaction's last
statement, so the row lock is held only while committing. `epoch` is random per database, so a
recreated database never matches a view kept from an earlier one.

Each step also logs which students of which assignments it changed (`ClassChange`, the class
change log): a view kept at an earlier step re-reads only those students (`changed_since`), so
an upload or a grading costs the next read one student's rows, not the class's. Where a write's
students are not known (a bulk insert, an assignment's or a user's own row) the step logs the
whole assignment or the whole class, and readers read it all again."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain

from sqlalchemy import BigInteger, Integer, String, delete, event, insert, select, update
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from submissions_api.store.models import Assignment, Base, Extension, User
from submissions_api.store.models_grading import GradingRun, Submission
from submissions_api.store.models_manual import ManualGrade

TRACKED = frozenset({"submissions", "grading_runs", "manual_grades", "extensions", "assignments",
                     "users"})
UNREAD = frozenset({"progress", "lease_expires_at"})
"""Columns no class-wide view reads: an update of only these (a running test's progress, a
renewed lease) leaves the revision as it was."""
_CHANGED = "mlpgrade_class_changed"
KEEP = 4096
"""Steps the change log keeps (pruned every PRUNE_EVERY steps): a view older than that is read
again whole."""
PRUNE_EVERY = 256
Key = tuple[int | None, int | None]
"""(assignment id, user id) a step changed; None: every assignment, or every student."""
EVERYTHING: Key = (None, None)


class ClassRevision(Base):
    """The one row: `revision` moves on with every committed write to a TRACKED table."""

    __tablename__ = "class_revision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


class ClassChange(Base):
    """One (assignment, student) a step of the revision changed; None is "all of them"."""

    __tablename__ = "class_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, index=True)
    assignment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


@dataclass
class Changes:
    """What a transaction's writes changed, so far: keys, and submissions whose keys are read
    at commit (a run names only its submission)."""

    keys: set[Key] = field(default_factory=set)
    submissions: set[int] = field(default_factory=set)


def changed_since(session: Session, assignment_id: int, since: int, upto: int
                  ) -> set[int] | None:
    """The students of the assignment whose rows steps since+1 … upto changed, or None where
    the log cannot tell (the whole assignment changed, or the log no longer reaches back)."""
    if upto - since > KEEP - PRUNE_EVERY:
        return None
    users: set[int] = set()
    for a, u in session.execute(select(ClassChange.assignment_id, ClassChange.user_id).where(
            ClassChange.revision > since, ClassChange.revision <= upto)):
        if a not in (None, assignment_id):
            continue
        if u is None:
            return None
        users.add(u)
    return users


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


def _changes(session: Session) -> Changes:
    return session.info.setdefault(_CHANGED, Changes())


def _note_object(changes: Changes, obj: object) -> None:
    if isinstance(obj, Submission | ManualGrade | Extension):
        changes.keys.add((obj.assignment_id, obj.user_id))
        if isinstance(obj, Submission) and obj.id is not None:
            changes.submissions.add(obj.id)  # its earlier student, were it moved
    elif isinstance(obj, GradingRun):
        changes.submissions.add(obj.submission_id)
    elif isinstance(obj, Assignment):
        changes.keys.add((obj.id, None))
    elif isinstance(obj, User):
        changes.keys.add((None, obj.id))
        changes.keys.add(EVERYTHING)  # a login or a role: every row of the class may move


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _context) -> None:
    # after the flush: new rows have their ids and keys; new/dirty/deleted still list them
    for obj in chain(session.new, session.dirty, session.deleted):
        if getattr(obj, "__tablename__", None) in TRACKED:
            _note_object(_changes(session), obj)


_KEYS_OF = {
    "submissions": lambda where: select(Submission.assignment_id, Submission.user_id).where(where),
    "manual_grades": lambda where: select(ManualGrade.assignment_id, ManualGrade.user_id)
    .where(where),
    "extensions": lambda where: select(Extension.assignment_id, Extension.user_id).where(where),
    "grading_runs": lambda where: select(Submission.assignment_id, Submission.user_id)
    .where(Submission.id.in_(select(GradingRun.submission_id).where(where))),
    "assignments": lambda where: select(Assignment.id, None).where(where),
}
"""The (assignment, student) rows an update or delete statement's WHERE picks, read before it
runs (a compare-and-set may then change fewer: a view re-reads a student for nothing)."""


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        values = getattr(state.statement, "_values", None) or {}  # update().values(...)
        name = getattr(table, "name", None)
        if name not in TRACKED or (
                state.is_update and values and {getattr(c, "key", c) for c in values} <= UNREAD):
            return
        where = getattr(state.statement, "whereclause", None)
        changes = _changes(state.session)
        if state.is_insert or where is None or name not in _KEYS_OF:
            changes.keys.add(EVERYTHING)
            return
        changes.keys.update((a, u) for a, u in state.session.execute(_KEYS_OF[name](where)))


@event.listens_for(Session, "before_commit")
def _bump(session: Session) -> None:
    session.flush()  # what is still pending is noted first, and written before the row is locked
    changes: Changes | None = session.info.pop(_CHANGED, None)
    if changes is None or not (changes.keys or changes.submissions):
        return
    keys = set(changes.keys)
    if changes.submissions:
        keys.update((a, u) for a, u in session.execute(select(
            Submission.assignment_id, Submission.user_id).where(
                Submission.id.in_(changes.submissions))))
    session.execute(update(ClassRevision).values(revision=ClassRevision.revision + 1))
    number = session.execute(select(ClassRevision.revision)).scalar_one_or_none()
    if number is None:
        return
    session.execute(insert(ClassChange), [{"revision": number, "assignment_id": a, "user_id": u}
                                          for a, u in keys])
    if number % PRUNE_EVERY == 0:
        session.execute(delete(ClassChange).where(ClassChange.revision <= number - KEEP))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGED, None)
