"""Several hosts, one truth (issue 16): the API and two worker processes, each worker with its
own data folder (as the production compose runs them), on PostgreSQL and Redis.

- Clocks: one worker's clock is 90 s ahead, the other's 90 s behind; every hand-in is still
  graded once, on its first attempt, with its exact score (leases and "queued since" are on the
  database's clock, which is the only one hosts compare).
- A committed upload is answered with its receipt even when the database drops right after the
  commit (never 503 "nothing was accepted", which would make the client upload a second copy).
- A regrade asked right after a golden set is activated covers a submission that is running,
  claimed under the old set: its result ends on the active set.
- While Redis is down the reaper re-sends nothing (the broker cannot say what it holds, which is
  not an empty queue), so no attempt is spent; once Redis is back, the lost messages are re-sent.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from submissions_api.jobs import Dispatcher
from submissions_api.settings import load_settings
from submissions_api.store import crud
from submissions_api.store.migrate import upgrade
from submissions_api.store.models import utcnow
from submissions_api.store.models_grading import GradingRun, Submission
from tests.api.services import REDIS_URL, check_redis, seed_golden_set, service_env, wait_for
from tests.e2e.stack import Stack, copy_home, start_stack
from tests.fault.burst import (
    add_students,
    check_graded_once,
    graded_count,
    handins,
    upload,
    upload_all,
)
from tests.fault.private import PrivatePostgres, PrivateRedis
from worker.context import WorkerContext
from worker.reaper import reap_once

HOOKS = Path(__file__).parent / "hooks"


def hooked(env: dict[str, str], **faults: str) -> dict[str, str]:
    """`env` with the fault hooks (tests/fault/hooks/sitecustomize.py) loaded, set by `faults`."""
    return {**env, "PYTHONPATH": f"{HOOKS}:{env['PYTHONPATH']}", **faults}


def two_hosts(stack: Stack, tmp: Path, *skews: float, queues: str = "live,bulk") -> None:
    """Two workers, each with a data folder of its own (its golden-set cache is its own) and,
    when given, its clock skewed by that many seconds."""
    for i, skew in enumerate(skews or (0.0, 0.0)):
        home = tmp / f"host-{i}"
        home.mkdir()
        stack.worker(queues, MLPGRADE_HOME=str(home), MLPGRADE_TEST_CLOCK_SKEW=str(skew),
                     MLPGRADE_TEST_STOP_POSTGRES="")


def attempts(stack: Stack, ids) -> dict[int, int]:
    with stack.sessions()() as session:
        return {i: crud.get_submission(session, submission_id=i).attempts for i in ids}


@pytest.mark.timeout(400)
def test_fault_skewed_clocks_both_ways_grade_each_once_on_first_attempt(tmp_path, service_home,
                                                                       postgres_databases):
    check_redis()
    env = hooked(service_env(copy_home(service_home, tmp_path / "home"),
                             postgres_databases.fresh(), REDIS_URL))
    stack = start_stack("skew", env, tmp_path)
    try:
        two_hosts(stack, tmp_path, 90.0, -90.0, queues="live")
        logins = add_students(stack, 4)
        accepted = upload_all(stack, logins, handins(8), clients=4)
        wait_for(lambda: graded_count(stack, accepted) == len(accepted), 300,
                 "every submission graded", 0.5, tuple(stack.procs))
        time.sleep(3)  # a reaper that misreads a lease would re-queue by now
        outcomes = check_graded_once(stack, accepted)
        assert outcomes == {"graded": 8}  # no lease taken, no retry
        assert set(attempts(stack, accepted).values()) == {1}
    finally:
        stack.stop()


@pytest.fixture
def private_postgres(tmp_path):
    server = PrivatePostgres(tmp_path / "postgres.log")
    server.start()
    with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres", dbname="postgres",
                         autocommit=True) as admin:
        admin.execute("CREATE DATABASE mlpgrade")
    upgrade(server.url("mlpgrade"))
    yield server
    server.close()


@pytest.mark.timeout(300)
def test_fault_database_drop_after_commit_still_answers_the_receipt(tmp_path, service_home,
                                                                  private_postgres):
    check_redis()
    arm = tmp_path / "arm"
    env = hooked(service_env(copy_home(service_home, tmp_path / "home"),
                             private_postgres.url("mlpgrade"), REDIS_URL),
                 MLPGRADE_TEST_STOP_POSTGRES=f"{private_postgres.popen.pid}:"
                                             f"{private_postgres.port}:{arm}")
    stack = start_stack("drop-after-commit", env, tmp_path)
    try:
        two_hosts(stack, tmp_path)
        [item] = handins(1)
        arm.touch()  # the next upload's commit stops the database
        reply = upload(stack, "alice", item.data)
        assert not arm.exists()  # the fault fired, after the commit
        assert reply.status_code == 202, reply.text
        body = reply.json()
        assert body["status"] == "queued" and body["queue_position"] is None
        private_postgres.start()
        wait_for(lambda: graded_count(stack, [body["id"]]) == 1, 200, "the upload graded", 0.5,
                 tuple(stack.procs))
        check_graded_once(stack, {body["id"]: item})
        with stack.sessions()() as session:  # one submission: the student had no reason to retry
            assert session.query(Submission).count() == 1
    finally:
        stack.stop()


@pytest.mark.timeout(300)
def test_fault_regrade_right_after_activation_covers_a_running_submission(tmp_path, service_home,
                                                                         postgres_databases):
    check_redis()
    env = service_env(copy_home(service_home, tmp_path / "home"), postgres_databases.fresh(),
                      REDIS_URL)
    stack = start_stack("regrade-running", env, tmp_path)
    try:
        two_hosts(stack, tmp_path)
        [item] = handins(1)
        sub_id = upload(stack, "alice", item.data).json()["id"]

        def running() -> bool:
            with stack.sessions()() as session:
                return crud.get_submission(session, submission_id=sub_id).status == "running"
        wait_for(running, 60, "the grading to start", 0.02, tuple(stack.procs))
        new_set = seed_golden_set(env["MLPGRADE_DATABASE_URL"], Path(env["MLPGRADE_HOME"]))
        with stack.api("ta1") as ta:
            regrade = ta.post("/assignments/hw1p1-s20/regrade", json={"latest_only": False})
        assert regrade.status_code == 202, regrade.text
        [entry] = regrade.json()["items"]
        assert entry["status"] == "pending", entry  # not skipped as "running"
        wait_for(lambda: _current_golden(stack, sub_id) == new_set, 200,
                 "the result on the active set", 0.5, tuple(stack.procs))
        with stack.sessions()() as session:
            sub = crud.get_submission(session, submission_id=sub_id)
            assert (sub.status, sub.score) == ("graded", item.expected)
    finally:
        stack.stop()


def _current_golden(stack: Stack, sub_id: int) -> int | None:
    with stack.sessions()() as session:
        sub = crud.get_submission(session, submission_id=sub_id)
        if sub.status != "graded" or sub.current_run_id is None:
            return None
        return session.get(GradingRun, sub.current_run_id).golden_set_id


@pytest.fixture
def redis_server(tmp_path):
    server = PrivateRedis(tmp_path / "redis.log")
    server.start()
    yield server
    server.stop()


@pytest.mark.timeout(300)
def test_fault_reaper_spends_no_attempt_while_redis_is_down(tmp_path, service_home,
                                                           postgres_databases, redis_server):
    env = service_env(copy_home(service_home, tmp_path / "home"), postgres_databases.fresh(),
                      redis_server.url)
    stack = start_stack("reaper-redis-down", env, tmp_path)
    try:
        two_hosts(stack, tmp_path)
        redis_server.stop()
        items = handins(2)
        accepted = {}
        for item in items:  # accepted while Redis is down: committed, their messages unsent
            reply = upload(stack, "alice", item.data)
            assert reply.status_code == 202, reply.text
            accepted[reply.json()["id"]] = item
        # A reaper pass while Redis is down, once these are overdue (ours, so its moment is
        # known; the workers' reapers run meanwhile too): the broker cannot say how many
        # messages it holds (kombu gives up after some seconds), which is not an empty queue.
        settings = load_settings(env)
        ctx = WorkerContext(settings=settings, sessions=stack.sessions(),
                            dispatcher=Dispatcher(settings))
        later = utcnow() + timedelta(seconds=settings.requeue_after + 1)  # one host here
        assert reap_once(ctx, now=later)["requeued"] == []
        assert attempts(stack, accepted) == {i: 1 for i in accepted}  # nothing spent
        redis_server.start()
        wait_for(lambda: graded_count(stack, accepted) == len(accepted), 200,
                 "every submission graded", 0.5, tuple(stack.procs))
        check_graded_once(stack, accepted)  # the lost messages were re-sent once it was back
    finally:
        stack.stop()
