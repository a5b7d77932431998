"""The reaper on both real stacks: expired leases and lost messages are re-queued once."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from submissions_api.store import crud, lifecycle
from submissions_api.store.models import utcnow
from submissions_api.store.models_grading import Status
from tests.reports import made_report
from worker.context import WorkerContext
from worker.reaper import reap_once


@pytest.fixture
def ctx(backend, sessions, dispatcher) -> WorkerContext:
    return WorkerContext(settings=dataclasses.replace(backend, infra_retries=2),
                         sessions=sessions, dispatcher=dispatcher)


def submit(ctx) -> int:
    with ctx.sessions() as session:
        user = crud.create_user(session, login=f"s{utcnow().timestamp()}")
        sub = crud.create_submission(session, user=user,
                                     assignment=crud.get_assignment(session, slug="hw1p1-s20"),
                                     data=b"tar", filename="handin.tar", received_at=utcnow(),
                                     late=False, penalty=0.0)
        session.commit()
        return sub.id


def claim(ctx, sub_id, attempt, lease=0.01):
    with ctx.sessions() as session:
        ok = lifecycle.claim_submission(session, submission_id=sub_id, attempt=attempt,
                                        owner="dead", lease_seconds=lease)
        session.commit()
        return ok


def test_reaper_requeues_expired_lease_once(ctx):
    sub_id = submit(ctx)
    assert claim(ctx, sub_id, 1)
    later = utcnow() + timedelta(seconds=1)
    assert reap_once(ctx, now=later) == {"requeued": [sub_id], "failed": [], "training": []}
    # compare-and-set: nothing twice
    assert reap_once(ctx, now=later) == {"requeued": [], "failed": [], "training": []}
    with ctx.sessions() as session:
        sub = crud.get_submission(session, submission_id=sub_id)
        assert (sub.status, sub.attempts, sub.infra_failures) == (Status.QUEUED, 2, 1)
    assert ctx.dispatcher.queue_size("live") == 1
    assert not claim(ctx, sub_id, 1)  # the old attempt's message is stale now
    assert claim(ctx, sub_id, 2, lease=60)


def test_reaper_leaves_live_leases_alone(ctx):
    sub_id = submit(ctx)
    assert claim(ctx, sub_id, 1, lease=60)
    assert reap_once(ctx) == {"requeued": [], "failed": [], "training": []}


def test_reaper_resends_lost_message_only_when_its_queue_is_empty(ctx):
    sub_id = submit(ctx)  # committed, but its message never reached the broker
    later = utcnow() + timedelta(seconds=ctx.settings.requeue_after + 1)
    ctx.dispatcher.send_grade(999999, 1)  # some other message waits in the queue
    assert reap_once(ctx, now=later)["requeued"] == []
    ctx.dispatcher.app.control.purge()
    assert ctx.dispatcher.queue_size("live") == 0
    assert reap_once(ctx, now=later)["requeued"] == [sub_id]
    assert ctx.dispatcher.queue_size("live") == 1


def test_reaper_gives_up_after_repeated_worker_loss_without_charging(ctx):
    sub_id = submit(ctx)
    for attempt in (1, 2):
        assert claim(ctx, sub_id, attempt)
        assert reap_once(ctx, now=utcnow() + timedelta(seconds=1))["requeued"] == [sub_id]
    assert claim(ctx, sub_id, 3)
    assert reap_once(ctx, now=utcnow() + timedelta(seconds=1))["failed"] == [sub_id]
    with ctx.sessions() as session:
        sub = crud.get_submission(session, submission_id=sub_id)
        assert sub.status == Status.FAILED and not sub.counts_toward_limit


def test_reaper_resends_a_lost_training_run_when_the_bulk_queue_is_empty(ctx):
    sub_id = submit(ctx)
    assert claim(ctx, sub_id, 1, lease=60)
    with ctx.sessions() as session:  # graded; its training message never reached the broker
        sub = crud.get_submission(session, submission_id=sub_id)
        run = lifecycle.record_graded(session, submission=sub, attempt=1, owner="dead",
                                      report=made_report(),
                                      started_at=utcnow(),
                                      training=True)
        session.commit()
        run_id = run.id
    assert reap_once(ctx)["training"] == []  # not yet overdue
    later = utcnow() + timedelta(seconds=ctx.settings.requeue_after + 1)
    ctx.dispatcher.send_golden(999999, "verify")  # some other job waits on the bulk queue
    assert reap_once(ctx, now=later)["training"] == []
    ctx.dispatcher.app.control.purge()
    assert reap_once(ctx, now=later)["training"] == [run_id]
    assert ctx.dispatcher.queue_size("bulk") == 1
    with ctx.sessions() as session:  # recorded once: a second result is refused
        assert lifecycle.record_training(session, run_id=run_id, report=made_report(),
                                         artifacts={})
        assert not lifecycle.record_training(session, run_id=run_id, report=made_report(),
                                             artifacts={})
        session.commit()
    assert reap_once(ctx, now=later)["training"] == []


def test_queue_positions_of_a_list_match_queue_position(ctx):
    ids = [submit(ctx) for _ in range(3)]
    assert claim(ctx, ids[0], 1, lease=60)  # running: no longer queued
    with ctx.sessions() as session:
        subs = [crud.get_submission(session, submission_id=i) for i in ids]
        one_by_one = {s.id: crud.queue_position(session, submission=s) for s in subs}
        assert crud.queue_positions(session, submissions=subs) == one_by_one
        assert [one_by_one[i] for i in ids] == [0, 1, 2]
