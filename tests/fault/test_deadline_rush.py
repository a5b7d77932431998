"""A deadline rush on PostgreSQL + Redis with two workers: 500 uploads (the reference and known
mistakes, identical bytes among them) from 50 concurrent clients are all accepted, all graded
once, each with the score grading it alone gives (bugs.toml, which the canary checks).

The workers take the live queue only: the deferred training runs (bulk queue) are not what a
rush waits for. MLPGRADE_TEST_RUSH sets another count (e.g. 24 for a quick local run); about
3 minutes on two cores at 500. bench/burst.py measures the same with a hostile mix."""

from __future__ import annotations

import os

import pytest

from tests.api.services import REDIS_URL, check_redis, service_env, wait_for
from tests.e2e.stack import copy_home, start_stack
from tests.fault.burst import add_students, check_graded_once, graded_count, handins, upload_all

RUSH = int(os.environ.get("MLPGRADE_TEST_RUSH", "500"))


@pytest.mark.timeout(1200)
def test_fault_deadline_rush_all_accepted_graded_once_exact_scores(tmp_path, service_home,
                                                                   postgres_databases):
    check_redis()
    env = service_env(copy_home(service_home, tmp_path / "home"), postgres_databases.fresh(),
                      REDIS_URL)
    stack = start_stack("rush", env, tmp_path)
    try:
        stack.worker("live")
        stack.worker("live")
        students = min(RUSH, 100)
        logins = add_students(stack, students)
        items = handins(RUSH)
        accepted = upload_all(stack, logins, items, clients=min(RUSH, 50))
        assert len(accepted) == RUSH
        wait_for(lambda: graded_count(stack, accepted) == RUSH, 1000,
                 f"{RUSH} submissions graded", 1.0, tuple(stack.procs))
        outcomes = check_graded_once(stack, accepted)
        assert outcomes == {"graded": RUSH}  # no retries either: nothing went wrong
        with stack.api("ta1") as ta:
            stats = ta.get("/assignments/hw1p1-s20/stats").json()
        assert stats["graded_students"] == students
    finally:
        stack.stop()
