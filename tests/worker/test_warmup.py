"""The golden set made ahead of the first grading (serve's start sends the job), and a grading's
progress stored on the submission as the tests run, on both real stacks."""

from __future__ import annotations

import threading
import time

from submissions_api.services.golden import prepare_missing, preparing
from submissions_api.store import crud
from submissions_api.store.models import utcnow
from submissions_api.store.models_golden import GoldenStatus
from tests.handins import make_handin_tar
from tests.worker.test_golden import SLUG, ctx  # noqa: F401 - the fresh worker host fixture
from worker.golden_jobs import ensure_active
from worker.grading import grade_submission


def test_serve_start_asks_for_each_missing_set_and_a_worker_makes_it(ctx, dispatcher):  # noqa: F811 - the fixture
    with ctx.sessions() as session:
        slugs = prepare_missing(session, dispatcher)
        a = crud.get_assignment(session, slug=SLUG)
        assert preparing(session, a) == {"status": "waiting", "since": None}
        total = len(crud.list_assignments(session))
    assert SLUG in slugs and len(slugs) == total
    assert dispatcher.queue_size("bulk") == total  # one job per assignment, on the bulk queue
    assert ensure_active(ctx, assignment_id=a.id, owner="w0").endswith("active")
    with ctx.sessions() as session:
        a = crud.get_assignment(session, slug=SLUG)
        [golden] = crud.list_golden_sets(session, assignment=a)
        assert a.active_golden_id == golden.id and golden.status == GoldenStatus.READY
        assert preparing(session, a) is None
        assert SLUG not in prepare_missing(session, dispatcher)  # a later start sends nothing
    assert ensure_active(ctx, assignment_id=a.id, owner="w0").endswith("active")  # cheap again
    with ctx.sessions() as session:
        assert len(crud.list_golden_sets(session, assignment=a)) == 1


def test_grading_stores_its_progress(ctx):  # noqa: F811 - the fixture
    """A grading that runs past grader/progress.py's FIRST_LOOK stores which test runs while it
    runs (tests/grader/test_progress.py: a shorter one stores none); the run's end is not
    stored, the result is recorded right after it."""
    with ctx.sessions() as session:
        a = crud.get_assignment(session, slug=SLUG)
        ensure_active(ctx, assignment_id=a.id, owner="w0")
        user = crud.create_user(session, login="alice")
        sub = crud.create_submission(
            session, user=user, assignment=a, data=make_handin_tar(edits={"hw1/mc.py": (
                "return 'b'", "return __import__('time').sleep(2) or 'b'")}),
            filename="handin.tar", received_at=utcnow(), late=False, penalty=0.0)
        session.commit()
        sub_id = sub.id
    seen = []

    def watch() -> None:
        while not done.is_set():
            with ctx.sessions() as session:
                progress = crud.get_submission(session, submission_id=sub_id).progress
            if progress and progress not in seen:
                seen.append(progress)
            time.sleep(0.05)
    done = threading.Event()
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert grade_submission(ctx, submission_id=sub_id, attempt=1, owner="w1") == "graded"
    finally:
        done.set()
        watcher.join()
    assert seen and all(p["total"] == 25 and p["test"] for p in seen), seen
    assert any("Multiple Choice" in p["test"] for p in seen), seen  # the one that sleeps
    with ctx.sessions() as session:
        sub = crud.get_submission(session, submission_id=sub_id)
        assert sub.progress["test"] is not None  # the end was not written
        assert sub.started_at is not None and sub.started_at <= utcnow()
