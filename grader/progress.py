"""Which test of a sandboxed run is running, seen from the host while the run goes on.

The runner runs the plan's tests in order and writes `OUT/<id>.json` as each one ends, so the
first planned id without its file is the one running. A watcher thread lists the output folder's
names (it reads no file: outputs are read, as untrusted data, only after the run) and calls
`progress(done, total, running_id)` when that changes. Progress is advisory: a failing callback is
logged, never raised into the grading.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str | None], None]
"""progress(tests done, tests planned, id of the test running or None when all are done)."""


def finished_count(out_dir: Path, ids: Sequence[str]) -> int:
    """How many of the planned tests (in order) have written their result."""
    try:
        names = set(os.listdir(out_dir))
    except OSError:
        return 0
    return next((i for i, test_id in enumerate(ids) if f"{test_id}.json" not in names), len(ids))


FIRST_LOOK = 1.0
"""Seconds into a run before its first report: a shorter run (most hand-ins) reports nothing
while it runs, since its result follows before a page asking each second would show its test."""


@contextmanager
def watch_outputs(out_dir: Path, ids: Sequence[str], progress: Progress | None,
                  interval: float = 0.5, first: float = FIRST_LOOK) -> Iterator[None]:
    """Report progress every `interval` seconds while the body (the sandboxed run) runs, from
    `first` seconds into it."""
    if progress is None or not ids:
        yield
        return
    stop = threading.Event()

    last = [-1]

    def look() -> None:
        done = finished_count(out_dir, ids)
        if done != last[0]:
            last[0] = done
            try:
                progress(done, len(ids), ids[done] if done < len(ids) else None)
            except Exception:  # advisory: a progress failure never fails the grading
                log.warning("progress callback failed", exc_info=True)

    def watch() -> None:
        if stop.wait(first):
            return None  # over before its first report
        while True:
            look()
            if stop.wait(interval):
                return look()  # the run's end state, seen once more

    thread = threading.Thread(target=watch, name="grading-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
    # The runner's signed reports name result files by random names (docs/sandbox.md), so the
    # listing may not see every test end: a run that came back has run its plan.
    try:
        if last[0] != len(ids):
            progress(len(ids), len(ids), None)
    except Exception:  # advisory, as above
        log.warning("progress callback failed", exc_info=True)
