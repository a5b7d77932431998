"""Golden sets on the worker side, on both real stacks: the database's active set is the only
registry; without one, the golden job makes it under a lease (generate, canary, activate) while
gradings wait at no cost; golden-set jobs follow the one retry policy."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from grader.sandbox import get_sandbox
from submissions_api.store import crud, golden_lifecycle
from submissions_api.store.models import utcnow
from submissions_api.store.models_golden import GoldenStatus
from tests.api.services import SANDBOX, seed_golden_set, service_env
from tests.handins import make_handin_tar
from worker.context import WorkerContext
from worker.golden_jobs import ensure_active, prepare_golden_set
from worker.grading import grade_submission
from worker.retry import GiveUp, Retry, next_attempt

SLUG = "hw1p1-s20"


@pytest.fixture
def ctx(backend, service_home, sessions, dispatcher, monkeypatch, tmp_path) -> WorkerContext:
    """A fresh worker host on a fresh database: no active golden set anywhere."""
    env = service_env(service_home, backend.database_url, backend.broker_url)
    monkeypatch.setenv("MLPGRADE_RUNTIME", env["MLPGRADE_RUNTIME"])
    monkeypatch.setenv("MLPGRADE_HOME", str(tmp_path / "worker-home"))
    return WorkerContext(settings=dataclasses.replace(backend, home=tmp_path / "worker-home"),
                         sessions=sessions, dispatcher=dispatcher,
                         sandbox_factory=lambda: get_sandbox(SANDBOX))


def assignment_id(ctx) -> int:
    with ctx.sessions() as session:
        return crud.get_assignment(session, slug=SLUG).id


def test_retry_policy_backs_off_then_gives_up(backend):
    settings = dataclasses.replace(backend, infra_retries=2, retry_backoff=0.5)
    assert [next_attempt(n, settings) for n in (1, 2, 3)] == [Retry(0.5), Retry(1.0), GiveUp()]


def test_ensure_golden_set_makes_one_at_a_time(ctx):
    a_id = assignment_id(ctx)
    results, barrier = [], threading.Barrier(2)

    def ensure(owner: str) -> None:
        barrier.wait()
        with ctx.sessions() as session:
            golden, mine = golden_lifecycle.ensure_golden_set(session, assignment_id=a_id,
                                                              owner=owner, lease_seconds=60)
            session.commit()
            results.append((golden.id, mine))

    threads = [threading.Thread(target=ensure, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({gid for gid, _ in results}) == 1 and sorted(m for _, m in results) == [False, True]
    with ctx.sessions() as session:  # while its maker renews the lease, nobody takes over
        maker = crud.get_golden_set(session, golden_id=results[0][0]).lease_owner
        assert golden_lifecycle.renew_golden_lease(session, golden_id=results[0][0], owner=maker,
                                            lease_seconds=0.5)
        assert not golden_lifecycle.renew_golden_lease(session, golden_id=results[0][0], owner="w9",
                                                lease_seconds=60)
        session.commit()
        assert golden_lifecycle.ensure_golden_set(session, assignment_id=a_id, owner="w2",
                                           lease_seconds=60)[1] is False
        session.commit()
    time.sleep(0.6)
    with ctx.sessions() as session:  # its maker died: once the lease ran out it is replaced
        golden, mine = golden_lifecycle.ensure_golden_set(session, assignment_id=a_id, owner="w2",
                                                   lease_seconds=60)
        session.commit()
        assert mine and golden.id != results[0][0] and golden.lease_owner == "w2"
        old = crud.get_golden_set(session, golden_id=results[0][0])
        assert old.status == GoldenStatus.ERROR and "abandoned" in old.error


def test_ensure_golden_set_returns_the_active_set(ctx, service_home):
    seeded = seed_golden_set(ctx.settings.database_url, service_home)
    with ctx.sessions() as session:
        golden, mine = golden_lifecycle.ensure_golden_set(session, assignment_id=assignment_id(ctx),
                                                   owner="w1", lease_seconds=60)
        assert (golden.id, mine) == (seeded, False)


def test_grading_without_active_set_waits_for_the_golden_job(ctx, backend):
    with ctx.sessions() as session:
        user = crud.create_user(session, login="alice")
        ids = [crud.create_submission(session, user=user, assignment=crud.get_assignment(
            session, slug=SLUG), data=make_handin_tar(), filename="handin.tar",
            received_at=utcnow(), late=False, penalty=0.0).id for _ in range(2)]
        session.commit()
    # no set: the grading makes none and spends nothing; it is sent again, and asks for the job
    assert grade_submission(ctx, submission_id=ids[0], attempt=1, owner="w1") == "waiting"
    assert ctx.dispatcher.queue_size("bulk") == 1
    assert ensure_active(ctx, assignment_id=assignment_id(ctx), owner="w0").endswith("active")
    assert grade_submission(ctx, submission_id=ids[0], attempt=1, owner="w1") == "graded"
    assert grade_submission(ctx, submission_id=ids[1], attempt=1, owner="w2") == "graded"
    with ctx.sessions() as session:
        a = crud.get_assignment(session, slug=SLUG)
        [golden] = crud.list_golden_sets(session, assignment=a)  # made once, used twice
        assert a.active_golden_id == golden.id and golden.created_by_id is None
        assert golden.status == GoldenStatus.READY and golden.canary_passed is True
        runs = [crud.list_runs(session, submission_id=i)[0] for i in ids]
        assert [(r.score, r.golden_set_id, r.golden_version) for r in runs] == \
            [(95.0, golden.id, golden.version)] * 2
        assert [crud.get_submission(session, submission_id=i).infra_failures
                for i in ids] == [0, 0]
    assert not (ctx.settings.home / "golden").exists()  # nothing marked current on disk


def test_golden_job_failure_is_retried_then_an_error(ctx, service_home):
    seeded = seed_golden_set(ctx.settings.database_url, service_home)
    with ctx.sessions() as session:  # an upload of the same set, waiting for its canary
        a = crud.get_assignment(session, slug=SLUG)
        done = crud.get_golden_set(session, golden_id=seeded)
        golden = crud.create_golden_set(session, assignment=a, created_by=None,
                                        status=GoldenStatus.VERIFYING, values={
                                            "version": done.version, "sha256": done.sha256,
                                            "archive_sha256": done.archive_sha256})
        session.commit()
        golden_id = golden.id
    broken = dataclasses.replace(ctx, sandbox_factory=lambda: get_sandbox("no-such-backend"))
    assert prepare_golden_set(broken, golden_id=golden_id, action="verify") == "retry"
    assert ctx.dispatcher.queue_size("bulk") == 1 or ctx.settings.broker_url.startswith("redis")
    assert prepare_golden_set(broken, golden_id=golden_id, action="verify", tries=2) == "error"
    with ctx.sessions() as session:
        row = crud.get_golden_set(session, golden_id=golden_id)
        assert row.status == GoldenStatus.ERROR and "no-such-backend" in row.error
