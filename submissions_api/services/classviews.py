"""Class-wide views (the gradebook, the class statistics) kept per process for as long as the
database's class revision (store/revision.py) is unchanged: a thousand-student dashboard is read
once per change, not once per request, and stays exact.

Kept values are shared between requests and threads: callers read them and never change them.
One computation per view at a time: the requests that want it meanwhile wait for its result."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy.orm import Session

from submissions_api.store import revision

T = TypeVar("T")
LIMIT = 64
"""Views kept at most (assignments × views × policies × databases); the oldest go first."""

_views: dict[tuple[Hashable, ...], tuple[int, object]] = {}
_computing: dict[tuple[Hashable, ...], threading.Lock] = {}
_guard = threading.Lock()


def kept(session: Session, key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
    """compute()'s value, from this process's keep when nothing it reads has changed since."""
    seen = revision.current(session)
    if seen is None:  # no revision row, or this session holds uncommitted writes it would read
        return compute()
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
        value = compute()
        with _guard:
            _views.pop(full, None)
            _views[full] = (number, value)
            while len(_views) > LIMIT:
                oldest = next(iter(_views))
                del _views[oldest]
                _computing.pop(oldest, None)
    return value
