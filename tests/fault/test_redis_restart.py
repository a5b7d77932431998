"""Redis restarted mid-burst (a private `redis-server --save ""`: every queued message is lost):
uploads made while it is down are still accepted, and every submission is graded exactly once.

The database is the source of truth: lost messages are re-sent by the reaper, and a message
that survives for an attempt no longer current is dropped as stale.
"""

from __future__ import annotations

import time

import pytest

from tests.api.services import service_env, wait_for
from tests.e2e.stack import copy_home, start_stack
from tests.fault.burst import add_students, check_graded_once, graded_count, handins, upload_all
from tests.fault.private import PrivateRedis


@pytest.fixture
def redis_server(tmp_path):
    server = PrivateRedis(tmp_path / "redis.log")
    server.start()
    yield server
    server.stop()


@pytest.mark.timeout(300)
def test_fault_redis_restart_mid_burst_grades_each_once(tmp_path, service_home,
                                                        postgres_databases, redis_server):
    env = service_env(copy_home(service_home, tmp_path / "home"), postgres_databases.fresh(),
                      redis_server.url)
    stack = start_stack("redis-restart", env, tmp_path)
    try:
        stack.worker()
        stack.worker()
        logins = add_students(stack, 6)
        items = handins(12)
        before = upload_all(stack, logins, items[:7], clients=6)
        wait_for(lambda: graded_count(stack, before) >= 2, 120, "the first grades", 0.2,
                 tuple(stack.procs))
        redis_server.stop()  # mid-burst: queued and unacknowledged messages are gone
        during = upload_all(stack, logins, items[7:10], clients=3)  # accepted, unsent
        time.sleep(2)
        redis_server.start()
        after = upload_all(stack, logins, items[10:], clients=3)
        accepted = {**before, **during, **after}
        wait_for(lambda: graded_count(stack, accepted) == len(accepted), 180,
                 "every submission graded", 0.5, tuple(stack.procs))
        time.sleep(3)  # let stale redeliveries arrive: they must not add a result
        outcomes = check_graded_once(stack, accepted)
        assert outcomes["graded"] == len(accepted) == 12
    finally:
        stack.stop()
