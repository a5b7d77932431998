"""Golden sets through the API and a worker's canary: upload, verify, activate (refused unless the
canary passed), and grading then uses the activated version."""

from __future__ import annotations

import dataclasses

from grader.golden.archive import pack_golden
from submissions_api.store import crud
from tests.api.services import SANDBOX, service_env
from tests.handins import make_handin_tar
from worker.context import WorkerContext
from worker.golden_jobs import prepare_golden_set
from worker.grading import grade_submission

A = "/api/v1"


def current_golden_dir(home):
    root = home / "golden" / "hw1p1-s20"
    return root / (root / "CURRENT").read_text().strip()


def upload_golden(client, users, data, login="prof"):
    return client.post(f"{A}/assignments/hw1p1-s20/golden-sets", headers=users.headers(login),
                       files={"archive": ("golden.tar.gz", data)})


def test_golden_upload_refuses_what_is_not_a_golden_set(client, users, service_home):
    assert upload_golden(client, users, b"nonsense").status_code == 422
    folder = current_golden_dir(service_home)
    good = pack_golden(folder)
    tampered = bytearray(good)
    assert upload_golden(client, users, bytes(tampered[: len(tampered) // 2])).status_code == 422


def test_golden_activation_refused_until_canary_passed(client, users, sessions):
    with sessions() as session:
        a = crud.get_assignment(session, slug="hw1p1-s20")
        prof = crud.get_user_by_login(session, login="prof")
        failing = crud.create_golden_set(session, assignment=a, created_by=prof,
                                         status="canary_failed",
                                         values={"version": "x", "canary_passed": False})
        pending = crud.create_golden_set(session, assignment=a, created_by=prof,
                                         status="verifying", values={"version": "y"})
        session.commit()
    for golden_id in (failing.id, pending.id):
        reply = client.post(f"{A}/golden-sets/{golden_id}/activate", headers=users.headers("prof"))
        assert reply.status_code == 409 and "canary" in reply.json()["detail"]
    assert client.get(f"{A}/assignments/hw1p1-s20",
                      headers=users.headers("prof")).json()["active_golden_id"] is None


def test_golden_upload_canary_activate_then_graded_with_it(client, users, backend, sessions,
                                                           dispatcher, service_home, tmp_path,
                                                           monkeypatch):
    env = service_env(service_home, backend.database_url, backend.broker_url)
    monkeypatch.setenv("MLPGRADE_RUNTIME", env["MLPGRADE_RUNTIME"])
    monkeypatch.setenv("MLPGRADE_SANDBOX", SANDBOX)
    monkeypatch.setenv("MLPGRADE_HOME", str(tmp_path / "worker-home"))  # a fresh worker host
    ctx = WorkerContext(settings=dataclasses.replace(backend, home=tmp_path / "worker-home"),
                        sessions=sessions, dispatcher=dispatcher)
    reply = upload_golden(client, users, pack_golden(current_golden_dir(service_home)))
    assert reply.status_code == 202, reply.text
    golden = reply.json()
    assert golden["status"] == "verifying" and dispatcher.queue_size("bulk") == 1
    assert prepare_golden_set(ctx, golden_id=golden["id"], action="verify") == "ready"
    seen = client.get(f"{A}/golden-sets/{golden['id']}", headers=users.headers("ta1")).json()
    assert seen["canary_passed"] is True and seen["canary"]["cases"]
    assert all(case["ok"] for case in seen["canary"]["cases"])
    assert client.post(f"{A}/golden-sets/{golden['id']}/activate",
                       headers=users.headers("ta1")).status_code == 403
    active = client.post(f"{A}/golden-sets/{golden['id']}/activate",
                         headers=users.headers("prof"))
    assert active.status_code == 200 and active.json()["active"] is True
    sub_id = client.post(f"{A}/assignments/hw1p1-s20/submissions", headers=users.headers("alice"),
                         files={"file": ("handin.tar", make_handin_tar())}).json()["id"]
    assert grade_submission(ctx, submission_id=sub_id, attempt=1, owner="w") == "graded"
    with sessions() as session:
        [run] = crud.list_runs(session, submission_id=sub_id)
    assert run.golden_version == golden["version"] and run.score == 95.0
