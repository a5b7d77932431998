"""End to end over HTTP with real processes, on PostgreSQL + Redis and on the embedded default
(SQLite + kombu's sqla broker): upload → graded and served; regrade keeps history; a killed worker's
submission is graded exactly once; late penalty in the gradebook."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from submissions_api.store.models import utcnow
from submissions_api.store.models_grading import GradingRun
from tests.api.services import REDIS_URL, check_redis, service_env, wait_for
from tests.e2e.stack import copy_home, start_stack
from tests.handins import make_handin_tar

SLOW_MCQ = {"hw1/mc.py": ("return 'b'", "import time; time.sleep(6)\n    return 'b'")}


@pytest.fixture(params=["postgres-redis", "embedded"])
def stack(request, tmp_path, service_home):
    home = copy_home(service_home, tmp_path / "home")
    if request.param == "postgres-redis":
        url = request.getfixturevalue("postgres_databases").fresh()
        check_redis()
        env = service_env(home, url, REDIS_URL)
    else:
        env = service_env(home, f"sqlite:///{home / 'service.db'}",
                          f"sqla+sqlite:///{home / 'broker.db'}")
    s = start_stack(request.param, env, tmp_path)
    yield s
    s.stop()


def upload(stack, login, data):
    with stack.api(login) as client:
        reply = client.post("/assignments/hw1p1-s20/submissions",
                            files={"file": ("handin.tar", data)})
    assert reply.status_code == 202, reply.text
    return reply.json()


def test_e2e_submit_cli_graded_and_served(stack, tmp_path):
    stack.worker()
    tar = tmp_path / "handin.tar"
    tar.write_bytes(make_handin_tar())
    out = stack.mlpgrade("submit", str(tar), "--server", stack.url, "--token",
                         stack.tokens["alice"], "--timeout", "120")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "TOTAL automatic 95/95 + manual —/5 = 95/100" in out.stdout
    with stack.api("alice") as client:
        [sub] = client.get("/submissions").json()
        served = client.get(f"/submissions/{sub['id']}").json()
    assert served["status"] == "graded" and served["score"] == 95.0
    assert len(served["result"]["tests"]) == 25
    assert all(t["passed"] for t in served["result"]["tests"])


def test_e2e_regrade_keeps_history_and_diffs(stack):
    stack.worker()
    a = upload(stack, "alice", make_handin_tar())
    b = upload(stack, "bob", make_handin_tar(edits={"hw1/mc.py": ("return 'b'", "return 'a'")}))
    assert stack.wait_submission("alice", a["id"])["score"] == 95.0
    assert stack.wait_submission("bob", b["id"])["score"] == 90.0
    with stack.api("ta1") as ta:
        regrade = ta.post("/assignments/hw1p1-s20/regrade", json={"latest_only": True}).json()
        assert regrade["total"] == 2
        done = wait_for(lambda: (r := ta.get(f"/regrades/{regrade['id']}").json())["finished"]
                        and r, 120, "the regrade", 0.2, tuple(stack.procs))
        runs = ta.get(f"/submissions/{a['id']}/runs").json()
    assert done["done"] == 2 and done["changed"] == 0
    assert sorted((i["before"], i["after"]) for i in done["items"]) == [(90, 90), (95, 95)]
    assert [(r["attempt"], r["reason"], r["score"]) for r in runs] == [
        (1, "submit", 95.0), (2, "regrade", 95.0)]


def test_e2e_killed_worker_graded_exactly_once(stack):
    first = stack.worker("live")
    sub = upload(stack, "alice", make_handin_tar(edits=SLOW_MCQ))
    stack.wait_submission("alice", sub["id"], statuses=("running",), timeout=60)
    first.kill()  # kill -9 the whole worker mid-grading: its message and lease die with it
    stack.worker("live")
    done = stack.wait_submission("alice", sub["id"], timeout=120)
    assert done["status"] == "graded" and done["score"] == 95.0
    with stack.sessions()() as session:
        runs = session.query(GradingRun).filter_by(submission_id=sub["id"]).all()
    assert [(r.outcome, r.score) for r in runs] == [("graded", 95.0)]
    assert runs[0].attempt >= 2  # the killed attempt left no result


def test_e2e_late_penalty_in_gradebook(stack):
    stack.worker()
    now = utcnow()
    with stack.api("prof") as prof:
        assert prof.patch("/assignments/hw1p1-s20", json={
            "deadline": (now - timedelta(hours=1)).isoformat(),
            "late_deadline": (now + timedelta(hours=1)).isoformat(),
            "late_penalty": 0.25}).status_code == 200
    sub = upload(stack, "alice", make_handin_tar())
    done = stack.wait_submission("alice", sub["id"])
    assert (done["score"], done["final_score"], done["late"]) == (95.0, 71.25, True)
    with stack.api("ta1") as ta:
        rows = list(csv.DictReader(io.StringIO(ta.get("/assignments/hw1p1-s20/gradebook.csv")
                                               .text)))
        stats = ta.get("/assignments/hw1p1-s20/stats").json()
    by_login = {r["login"]: r for r in rows}
    assert by_login["alice"]["score"] == "71.25" and by_login["alice"]["raw_score"] == "95.0"
    assert by_login["bob"]["status"] == "no submission"
    assert stats["graded_students"] == 1 and stats["max"] == 71.25
