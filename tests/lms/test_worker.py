"""The whole passback through a real Celery worker process: a real hand-in graded by the worker,
whose commit asks for a send (after commit, by the worker's dispatcher); the bulk worker's task
sends 95 to the platform; a TA's manual points (committed in this process, whose dispatcher sends
the message) move it to 100; a roster sync pressed by staff runs on the worker too."""

from __future__ import annotations

from submissions_api.lms import outbox
from submissions_api.services import manual
from submissions_api.store import crud
from submissions_api.store.models import utcnow
from submissions_api.store.models_lms import LtiContext
from tests.api.services import seed_golden_set, service_env, start_worker, wait_for
from tests.handins import make_handin_tar
from tests.lms.fixtures import CONTEXT, SLUG


def note(sessions, context_pk: int) -> str:
    with sessions() as session:
        return session.get(LtiContext, context_pk).sync_note


def test_real_worker_sends_the_score_after_grading(course, backend, service_home, sessions,
                                                    dispatcher, tmp_path):
    seed_golden_set(backend.database_url, service_home)
    env = service_env(service_home, backend.database_url, backend.broker_url,
                      MLPGRADE_QUEUE_PREFIX=backend.queue_prefix)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        with sessions() as session:
            sub = crud.create_submission(
                session, user=crud.get_user_by_login(session, login="alice"),
                assignment=crud.get_assignment(session, slug=SLUG), data=make_handin_tar(),
                filename="handin.tar", received_at=utcnow(), late=False, penalty=0.0)
            session.commit()
        assert dispatcher.send_grade(sub.id, 1)
        wait_for(lambda: course.state.scores_of(course.lineitem_url), 180, "the graded score",
                 logs=(worker,))
        [first] = course.state.scores_of(course.lineitem_url)
        assert (first["userId"], first["scoreGiven"], first["gradingProgress"]) == (
            "sub-alice", 95.0, "PendingManual")
        outbox.notify_after_commit(backend.database_url, dispatcher.send_scores)
        with sessions() as session:
            manual.set_manual_grade(session, crud.get_user_by_login(session, login="ta1"),
                                    sub.id, "training_statistics", points=5.0, comment="ok")
        wait_for(lambda: len(course.state.scores_of(course.lineitem_url)) == 2, 60,
                 "the score after manual points", logs=(worker,))
        second = course.state.scores_of(course.lineitem_url)[1]
        assert (second["scoreGiven"], second["gradingProgress"]) == (100.0, "FullyGraded")
        # one token per process that sends, cached: the pool's and the sender thread's
        assert course.state.token_requests <= 2
        course.state.members[CONTEXT] = [
            {"user_id": "new-1", "name": "Nora New", "roles": []},
            {"user_id": "sub-alice", "name": "Alice Liddell", "roles": []}]
        assert dispatcher.send_roster_sync(course.context_pk)  # staff pressed "Sync roster"
        wait_for(lambda: note(sessions, course.context_pk), 60, "the roster sync", logs=(worker,))
        assert note(sessions, course.context_pk) == ("2 members: 1 added, 1 updated, "
                                                  "1 deactivated")
    finally:
        worker.stop()
