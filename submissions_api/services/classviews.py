"""Class-wide views (the gradebook, the class statistics) kept per process for as long as the
database's class revision (store/revision.py) is unchanged: a thousand-student dashboard is read
once per change, not once per request, and stays exact.

What they are made of, each student's entries and the counted runs' summaries (`Source`), is
kept per assignment across changes: a new revision re-reads only the students the change log
names (an upload, a grading: one student), so reads during a deadline's uploads stay cheap.

Kept values are shared between requests and threads: callers read them and never change them.
One computation per view at a time: the requests that want it meanwhile wait for its result."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from submissions_api.grades import Entry, read_entries
from submissions_api.store import crud, revision
from submissions_api.store.models import Assignment

T = TypeVar("T")
LIMIT = 64
"""Views kept at most (assignments × views × policies × databases); the oldest go first."""

_views: dict[tuple[Hashable, ...], tuple[int, object]] = {}
_computing: dict[tuple[Hashable, ...], threading.Lock] = {}
_guard = threading.Lock()


def kept(session: Session, key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
    """compute()'s value, from this process's keep when nothing it reads has changed since."""
    return updated(session, key, lambda _earlier: compute())


HISTORY = 8
"""Earlier sources a source remembers the changed students since (views a few changes old are
brought up to date student by student; older ones are made whole)."""


@dataclass(frozen=True)
class Source:
    """An assignment's entries (grades.read_entries) as of a revision, the run summaries of its
    submissions read so far (filled as views ask: `summaries`), and the students changed since
    the last few earlier sources."""

    number: int
    entries: dict[str, list[Entry]]
    read: dict[int, dict[str, Any]] = field(default_factory=dict)
    since: dict[int, frozenset[str]] = field(default_factory=dict)

    def summaries(self, session: Session, ids: Iterable[int]
                  ) -> tuple[list[int], list[dict[str, Any]]]:
        """The current run summaries of these submissions (those that have one: their ids,
        their summaries), read once per source line, the missing ones in one query."""
        ids = list(ids)
        missing = [i for i in ids if i not in self.read]
        if missing:
            self.read.update(crud.current_summaries(session, submission_ids=missing))
        found = [i for i in ids if i in self.read]
        return found, [self.read[i] for i in found]

    def changed_since(self, number: int) -> frozenset[str] | None:
        """The students whose entries changed since the source of `number`; None: unknown."""
        return frozenset() if number == self.number else self.since.get(number)

    def then(self, number: int, entries: dict[str, list[Entry]], read: dict[int, dict],
             changed: frozenset[str]) -> Source:
        """The source of a later revision whose `changed` students were read again."""
        since = {n: s | changed for n, s in self.since.items()}
        since[self.number] = changed
        recent = dict(sorted(since.items())[-HISTORY:])
        return Source(number, entries, read, recent)


def carried(source: Source, earlier: Any) -> tuple[dict[str, Any], frozenset[str] | None]:
    """For a view kept per student (`earlier.by_login`, made from the source of
    `earlier.number`): its values that still hold and the students to make again; ({}, None)
    where it is to be made whole."""
    changed = None if earlier is None else source.changed_since(earlier.number)
    if changed is None:
        return {}, None
    return {k: v for k, v in earlier.by_login.items() if k not in changed}, changed


def source(session: Session, assignment: Assignment) -> Source:
    """The assignment's entries and summaries now: the kept ones brought up to date with the
    students the change log names since, or all read again where it cannot tell."""
    def compute(earlier: Source | None) -> Source:
        number = -1 if (seen := revision.current(session)) is None else seen[1]
        users = None
        if earlier is not None and number >= 0:
            users = revision.changed_since(session, assignment.id, earlier.number, number)
        if users is None or earlier is None:
            return Source(number, read_entries(session, assignment))
        if not users:
            return earlier.then(number, earlier.entries, earlier.read, frozenset())
        gone = crud.logins_of(session, user_ids=users)
        entries = {k: v for k, v in earlier.entries.items() if k not in gone}
        entries.update(read_entries(session, assignment, user_ids=users))
        stale = {e.submission_id for login in gone for e in earlier.entries.get(login, ())}
        read = {i: s for i, s in dict(earlier.read).items() if i not in stale}  # atomic copy
        return earlier.then(number, dict(sorted(entries.items())), read, frozenset(gone))
    return updated(session, ("source", assignment.id), compute)


def updated(session: Session, key: tuple[Hashable, ...], compute: Callable[[Any], T]) -> T:
    """compute(the value kept at an earlier revision, or None), kept as kept(): a view that
    brings its earlier value up to date instead of making it again."""
    seen = revision.current(session)
    if seen is None:  # no revision row, or this session holds uncommitted writes it would read
        return compute(None)
    epoch, number = seen
    full = (str(session.get_bind().url), epoch, *key)  # a cloned database copies its epoch
    hit = _views.get(full)
    if hit is not None and hit[0] == number:
        return hit[1]  # type: ignore[return-value]
    with _guard:
        lock = _computing.setdefault(full, threading.Lock())
    with lock:
        hit = _views.get(full)
        if hit is not None and hit[0] >= number:  # computed meanwhile, as fresh or fresher
            return hit[1]  # type: ignore[return-value]
        value = compute(None if hit is None else hit[1])
        with _guard:
            _views.pop(full, None)
            _views[full] = (number, value)
            while len(_views) > LIMIT:
                oldest = next(iter(_views))
                del _views[oldest]
                _computing.pop(oldest, None)
    return value
