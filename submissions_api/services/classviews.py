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
    return _kept(session, key, lambda _number, _earlier: compute())


@dataclass(frozen=True)
class Source:
    """An assignment's entries (grades.read_entries) as of a revision, and the run summaries
    of its submissions read so far (filled as views ask: `summaries`)."""

    number: int
    entries: dict[str, list[Entry]]
    read: dict[int, dict[str, Any]] = field(default_factory=dict)

    def summaries(self, session: Session, ids: Iterable[int]) -> list[dict[str, Any]]:
        """The current run summaries of these submissions, read once per source line."""
        ids = list(ids)
        missing = [i for i in ids if i not in self.read]
        if missing:
            self.read.update(crud.current_summaries(session, submission_ids=missing))
        return [self.read[i] for i in ids if i in self.read]


def source(session: Session, assignment: Assignment) -> Source:
    """The assignment's entries and summaries now: the kept ones brought up to date with the
    students the change log names since, or all read again where it cannot tell."""
    def compute(number: int, earlier: object) -> Source:
        users = None
        if isinstance(earlier, Source) and number >= 0:
            users = revision.changed_since(session, assignment.id, earlier.number, number)
        if users is None or not isinstance(earlier, Source):
            return Source(number, read_entries(session, assignment))
        if not users:
            return Source(number, earlier.entries, earlier.read)
        gone = crud.logins_of(session, user_ids=users)
        entries = {k: v for k, v in earlier.entries.items() if k not in gone}
        entries.update(read_entries(session, assignment, user_ids=users))
        stale = {e.submission_id for login in gone for e in earlier.entries.get(login, ())}
        read = {i: s for i, s in dict(earlier.read).items() if i not in stale}  # atomic copy
        return Source(number, dict(sorted(entries.items())), read)
    return _kept(session, ("source", assignment.id), compute)


def _kept(session: Session, key: tuple[Hashable, ...], compute: Callable[[int, object], T]
          ) -> T:
    """compute(revision, the value kept at an earlier revision or None), kept as kept()."""
    seen = revision.current(session)
    if seen is None:  # no revision row, or this session holds uncommitted writes it would read
        return compute(-1, None)
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
        value = compute(number, None if hit is None else hit[1])
        with _guard:
            _views.pop(full, None)
            _views[full] = (number, value)
            while len(_views) > LIMIT:
                oldest = next(iter(_views))
                del _views[oldest]
                _computing.pop(oldest, None)
    return value
