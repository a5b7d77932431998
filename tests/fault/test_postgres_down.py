"""PostgreSQL stopped (a private cluster, never the shared one): while it is down uploads and
reads answer 503 with a clear message and Retry-After, and /health says the database is down;
once it is back, every submission accepted before is there and graded exactly once."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from submissions_api.main import DATABASE_DOWN
from submissions_api.store.migrate import upgrade
from tests.api.services import REDIS_URL, check_redis, service_env, wait_for
from tests.e2e.stack import copy_home, start_stack
from tests.fault.burst import check_graded_once, graded_count, handins, upload
from tests.fault.private import PrivatePostgres


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


@pytest.mark.timeout(240)
def test_fault_postgres_down_answers_503_and_loses_nothing(tmp_path, service_home,
                                                           private_postgres):
    check_redis()
    env = service_env(copy_home(service_home, tmp_path / "home"),
                      private_postgres.url("mlpgrade"), REDIS_URL)
    stack = start_stack("postgres-down", env, tmp_path)
    try:
        stack.worker()
        items = handins(4)
        accepted = {}
        for item in items[:3]:
            reply = upload(stack, "alice", item.data)
            assert reply.status_code == 202, reply.text
            accepted[reply.json()["id"]] = item
        wait_for(lambda: graded_count(stack, accepted) >= 1, 90, "a first grade", 0.2,
                 tuple(stack.procs))

        private_postgres.stop()  # the others are queued or being graded
        refused = upload(stack, "alice", items[3].data)
        assert refused.status_code == 503, refused.text
        assert refused.json() == {"detail": DATABASE_DOWN}
        assert refused.headers["Retry-After"] == "60"
        with stack.api("alice") as client:
            read = client.get(f"/submissions/{min(accepted)}")
        assert (read.status_code, read.json()["detail"]) == (503, DATABASE_DOWN)
        health = httpx.get(stack.url + "/health", timeout=10)
        assert health.status_code == 503
        assert health.json()["status"] == "down" and health.json()["database"] != "ok"

        private_postgres.start()
        wait_for(lambda: httpx.get(stack.url + "/health", timeout=10).status_code == 200, 30,
                 "the API to see the database again", 0.5, tuple(stack.procs))
        reply = upload(stack, "alice", items[3].data)  # the refused upload, tried again
        assert reply.status_code == 202, reply.text
        accepted[reply.json()["id"]] = items[3]
        wait_for(lambda: graded_count(stack, accepted) == len(accepted), 150,
                 "every accepted submission graded", 0.5, tuple(stack.procs))
        outcomes = check_graded_once(stack, accepted)
        assert outcomes["graded"] == 4
        with stack.api("prof") as prof:
            listed = prof.get("/submissions", params={"assignment": "hw1p1-s20"}).json()
        assert sorted(s["id"] for s in listed) == sorted(accepted)  # the refused one left no row
    finally:
        stack.stop()
