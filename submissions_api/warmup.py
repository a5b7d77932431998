"""At `serve`'s start: have the workers make every assignment's first golden set now, and print
how it goes, instead of the first upload waiting a minute in silence for it.

A golden set is made from our reference (generate), then checked by its canary (our reference
scores full marks, our starter 0, each known mistake exactly its expected failures), then
activated, by the golden job on the bulk queue (the only maker; a grading that arrives meanwhile
waits at no cost); later starts find it made.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from submissions_api.jobs import Dispatcher
from submissions_api.services.golden import prepare_missing, preparing
from submissions_api.settings import Settings
from submissions_api.store import crud
from submissions_api.store.db import session_factory

STEPS = {"waiting": "waiting for a worker", "generating": "running our reference",
         "verifying": "running the canary"}


def make_golden_sets(settings: Settings, dispatcher: Dispatcher, say: Callable[[str], None],
                     interval: float = 2.0
                     ) -> threading.Thread | None:
    """Send the jobs and start a thread that reports each set's steps until all are active (or
    the build time is spent); None when every assignment has its set already."""
    sessions = session_factory(settings.database_url)
    with sessions() as session:
        slugs = prepare_missing(session, dispatcher)
    if not slugs:
        return None
    say(f"making the golden sets of {', '.join(slugs)} from our reference (once, about a "
        "minute each; uploads meanwhile wait for them)")

    def watch() -> None:
        start, shown = time.monotonic(), {}
        while slugs and time.monotonic() - start < settings.golden_build_seconds:
            with sessions() as session:
                for slug in list(slugs):
                    assignment = crud.get_assignment(session, slug=slug)
                    state = preparing(session, assignment)
                    seconds = int(time.monotonic() - start)
                    if state is None:
                        say(f"golden set of {slug}: ready after {seconds} s")
                        slugs.remove(slug)
                    elif shown.get(slug) != state["status"]:
                        shown[slug] = state["status"]
                        say(f"golden set of {slug}: {STEPS.get(state['status'], state['status'])}"
                            f" ({seconds} s)")
            time.sleep(interval)
        for slug in slugs:
            say(f"golden set of {slug}: not ready yet; see its golden-sets page")

    thread = threading.Thread(target=watch, name="golden-warmup", daemon=True)
    thread.start()
    return thread
