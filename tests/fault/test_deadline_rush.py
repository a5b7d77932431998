"""A deadline rush on PostgreSQL + Redis with two workers: 24 uploads (the reference and known
mistakes, identical bytes among them) from 12 concurrent clients are all accepted, all graded
once, each with the score grading it alone gives (bugs.toml, which the canary checks).
24, not 40, keeps it near a minute and a half on two busy cores;
the 500-upload version is bench/burst.py."""

from __future__ import annotations

import pytest

from tests.api.services import REDIS_URL, check_redis, service_env, wait_for
from tests.e2e.stack import copy_home, start_stack
from tests.fault.burst import add_students, check_graded_once, graded_count, handins, upload_all


@pytest.mark.timeout(300)
def test_fault_deadline_rush_all_accepted_graded_once_exact_scores(tmp_path, service_home,
                                                                   postgres_databases):
    check_redis()
    env = service_env(copy_home(service_home, tmp_path / "home"), postgres_databases.fresh(),
                      REDIS_URL)
    stack = start_stack("rush", env, tmp_path)
    try:
        stack.worker()
        stack.worker()
        logins = add_students(stack, 12)
        items = handins(24)
        accepted = upload_all(stack, logins, items, clients=12)
        assert len(accepted) == 24
        wait_for(lambda: graded_count(stack, accepted) == 24, 240, "24 submissions graded", 0.5,
                 tuple(stack.procs))
        outcomes = check_graded_once(stack, accepted)
        assert outcomes == {"graded": 24}  # no retries either: nothing went wrong
        with stack.api("ta1") as ta:
            stats = ta.get("/assignments/hw1p1-s20/stats").json()
        assert stats["graded_students"] == 12
    finally:
        stack.stop()
