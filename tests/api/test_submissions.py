"""Uploads: committed before the 202, queue position, deadlines, late penalty, extensions,
submission limit and cooldown (infrastructure failures do not count)."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import timedelta

from grader.fixtures import make_tar
from grader.results import GradeReport
from submissions_api.store import crud, lifecycle
from submissions_api.store.models import utcnow
from submissions_api.store.models_grading import GradingRun, Status, TrainingStatus
from tests.handins import make_handin_tar
from tests.reports import made_report

A = "/api/v1"
TAR = make_handin_tar()


def upload(client, users, login, data=TAR):
    return client.post(f"{A}/assignments/hw1p1-s20/submissions", headers=users.headers(login),
                       files={"file": ("handin.tar", data)})


def configure(client, users, **fields):
    reply = client.patch(f"{A}/assignments/hw1p1-s20", headers=users.headers("prof"),
                         json={k: v.isoformat() if hasattr(v, "isoformat") else v
                               for k, v in fields.items()})
    assert reply.status_code == 200, reply.text


def test_upload_is_committed_and_published(client, users, sessions, dispatcher):
    data = make_handin_tar(extra={"hw1/notes.py": "# mine\n"})
    reply = upload(client, users, "alice", data)
    assert reply.status_code == 202
    body = reply.json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest() and body["size"] == len(data)
    assert body["status"] == "queued" and body["queue_position"] == 1
    with sessions() as session:  # a fresh session: it is in the database
        sub = crud.get_submission(session, submission_id=body["id"])
        assert crud.get_blob(session, sha256=sub.blob_sha256) == data
    assert dispatcher.queue_size("live") == 1  # and its message is on the broker


def test_queue_position_counts_those_ahead(client, users):
    positions = [upload(client, users, login).json()["queue_position"]
                 for login in ("alice", "bob", "alice")]
    assert positions == [1, 2, 3]


def test_upload_refuses_empty_and_oversized(client, users, backend):
    assert upload(client, users, "alice", b"").status_code == 422
    big = b"x" * (backend.upload_max_bytes + 1)
    refused = upload(client, users, "alice", big)
    assert refused.status_code == 413
    assert refused.json()["detail"] == (
        "Your upload is just over 16.0 MB; the limit is 16.0 MB. Hand in only hw1/ and mytorch/ "
        "(no data, plots or PDFs). Make it with `tar -cvf handin.tar hw1 mytorch` in the folder "
        "that holds hw1/ and mytorch/.")
    # a hand-in with the data folder in it: the size in MB and what to leave out
    with_data = make_handin_tar(extra={"data/train.txt": "0" * (19 * 2**20)})
    refused = upload(client, users, "alice", with_data)
    assert refused.status_code == 413
    assert refused.json()["detail"] == (
        "Your upload is 19.0 MB; the limit is 16.0 MB. Leave out data/ (19.0 MB): hand in only "
        "hw1/ and mytorch/. Make it with `tar -cvf handin.tar hw1 mytorch` in the folder that "
        "holds hw1/ and mytorch/.")


def test_submission_limit_counts_only_what_we_did_not_fail(client, users, sessions):
    configure(client, users, submission_limit=2)
    first = upload(client, users, "alice").json()["id"]
    assert upload(client, users, "alice").status_code == 202
    refused = upload(client, users, "alice")
    assert refused.status_code == 429 and "limit" in refused.json()["detail"]
    assert upload(client, users, "bob").status_code == 202  # per student
    with sessions() as session:  # our infrastructure failed the first one: it does not count
        assert lifecycle.fail_submission(session, submission_id=first, attempt=1,
                                    from_status=Status.QUEUED, error="InfrastructureError")
        session.commit()
    assert upload(client, users, "alice").status_code == 202
    assert upload(client, users, "alice").status_code == 429


REFUSED_AT_DOOR = {
    "a PDF": (b"%PDF-1.4 my homework" * 50, "Your upload is a PDF, not a tar: we accept a tar "
                                            "(.tar, or .tar.gz). Make it with `tar -cvf "
                                            "handin.tar hw1 mytorch`"),
    "a zip": (b"PK\x03\x04" + b"\x00" * 100, "Your upload is a zip archive, not a tar"),
    "not a tar": (b"my homework" * 100, "not a tar archive"),
    "no hw1/": (make_tar({"mytorch/linear.py": "x = 1\n"}), "no hw1/ folder"),
    "damaged gzip": (b"\x1f\x8b" + b"\x00" * 40, "damaged"),
}


def test_refused_at_the_door_queues_nothing_and_costs_no_submission(client, users, sessions,
                                                                    dispatcher):
    """What intake would refuse is answered 422 with the reason before anything is stored or
    queued; the attempt counts toward neither the limit nor the cooldown (issue 11, item 5)."""
    configure(client, users, submission_limit=1, cooldown_seconds=600)
    for name, (data, reason) in REFUSED_AT_DOOR.items():
        reply = upload(client, users, "alice", data)
        assert reply.status_code == 422, (name, reply.text)
        assert reason in reply.json()["detail"], (name, reply.json())
    assert upload(client, users, "alice", b"").status_code == 422
    with sessions() as session:
        assert crud.list_submissions(session) == []
    assert dispatcher.queue_size("live") == 0
    assert upload(client, users, "alice").status_code == 202  # the one submission is still there


def test_cooldown_between_submissions(client, users, sessions):
    configure(client, users, cooldown_seconds=600)
    first = upload(client, users, "alice").json()["id"]
    refused = upload(client, users, "alice")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 590
    with sessions() as session:
        sub = crud.get_submission(session, submission_id=first)
        sub.received_at = utcnow() - timedelta(seconds=601)
        session.commit()
    assert upload(client, users, "alice").status_code == 202


def test_staff_are_not_held_to_limits_or_deadlines(client, users):
    configure(client, users, submission_limit=1, deadline=utcnow() - timedelta(days=2),
              late_deadline=None)
    assert upload(client, users, "ta1").status_code == 202
    assert upload(client, users, "ta1").status_code == 202
    assert upload(client, users, "alice").status_code == 403


def test_late_submission_gets_the_penalty_and_after_late_deadline_refused(client, users):
    now = utcnow()
    configure(client, users, deadline=now - timedelta(hours=1),
              late_deadline=now + timedelta(hours=1), late_penalty=0.25)
    late = upload(client, users, "alice").json()
    assert late["late"] is True and late["late_penalty"] == 0.25
    configure(client, users, late_deadline=now - timedelta(minutes=1))
    closed = upload(client, users, "alice")
    assert closed.status_code == 403 and "closed" in closed.json()["detail"]


def test_on_time_submission_has_no_penalty(client, users):
    configure(client, users, deadline=utcnow() + timedelta(hours=1), late_penalty=0.5)
    body = upload(client, users, "alice").json()
    assert body["late"] is False and body["late_penalty"] == 0


def test_extension_moves_one_students_deadline(client, users):
    now = utcnow()
    configure(client, users, deadline=now - timedelta(hours=2),
              late_deadline=now - timedelta(hours=1), late_penalty=0.1)
    reply = client.put(f"{A}/assignments/hw1p1-s20/extensions/alice",
                       headers=users.headers("ta1"),
                       json={"deadline": (now + timedelta(hours=1)).isoformat(), "reason": "ill"})
    assert reply.status_code == 200
    ok = upload(client, users, "alice").json()
    assert ok["late"] is False
    assert upload(client, users, "bob").status_code == 403
    listed = client.get(f"{A}/assignments/hw1p1-s20/extensions", headers=users.headers("ta1"))
    assert [e["login"] for e in listed.json()] == ["alice"]
    assert client.delete(f"{A}/assignments/hw1p1-s20/extensions/alice",
                         headers=users.headers("ta1")).status_code == 204
    assert upload(client, users, "alice").status_code == 403


def test_student_view_hides_staff_details(client, users, sessions):
    sub_id = upload(client, users, "alice").json()["id"]
    report = {"assignment": "hw1p1-s20", "golden_version": "g1", "score": 3.0, "max_score": 95.0,
              "grader_version": "0", "timings": {"run": 1.0},
              "sandbox": {"verdict": "completed", "message": "", "stderr": "SECRET-STDERR"},
              "intake": {"files": ["hw1/hw1.py"], "dropped": [], "missing": [], "notes": []},
              "manual": [{"id": "m", "name": "M", "max_points": 5, "points": None, "comment": "",
                          "evidence": {"loss": 1}}],
              "tests": [{"id": "t", "name": "T", "points": 3.0, "max_points": 5.0,
                         "passed": False, "feedback": "dW has the wrong shape", "status": "ok",
                         "seconds": 0.1, "checks": [{"name": "dW", "passed": False,
                                                     "message": "shape (2, 3), expected (3, 2)",
                                                     "details": {"max_error": "SECRET"}}]}]}
    with sessions() as session:
        sub = crud.get_submission(session, submission_id=sub_id)
        assert lifecycle.claim_submission(session, submission_id=sub_id, attempt=1, owner="w",
                                     lease_seconds=30)
        session.commit()
        lifecycle.record_graded(session, submission=sub, attempt=1, owner="w",
                                report=GradeReport.from_dict(report), started_at=utcnow())
        session.commit()
    student = client.get(f"{A}/submissions/{sub_id}", headers=users.headers("alice"))
    text = student.text
    assert student.json()["score"] == 3.0
    assert "dW has the wrong shape" in text and "expected (3, 2)" in text
    assert "SECRET" not in text and "max_error" not in text and "evidence" not in text
    assert student.json()["result"]["tests"][0]["checks"][0]["details"] == {}
    assert student.json()["staff"] is None
    staff = client.get(f"{A}/submissions/{sub_id}", headers=users.headers("ta1")).text
    assert "SECRET-STDERR" in staff and "max_error" in staff


def status_json(client, users, login, sub_id, seen=None):
    """The result page's status line, as the page asks for it (its cookie; `seen`: the state
    it shows), and the seconds the answer took."""
    client.cookies.set("mlpgrade_token", users.tokens[login])
    start = time.perf_counter()
    reply = client.get(f"/submissions/{sub_id}/status.json", params={"seen": seen} if seen else {})
    client.cookies.clear()
    return reply, time.perf_counter() - start


def test_a_pending_status_is_answered_once_it_changed_or_after_the_wait(client, users,
                                                                        sessions):
    """services/changes.py: the page's status.json with the state it shows (`seen`) waits for
    that state to change (answered within a look or two of the change), or for the wait's end
    (answered with the same state and a fresh line); another state is answered at once; another
    student's submission is refused before any wait."""
    client.app.state.changes.most = 2.0
    sub_id = upload(client, users, "alice").json()["id"]
    reply, _ = status_json(client, users, "alice", sub_id)
    assert reply.status_code == 200 and reply.json()["state"] == "queued/None"
    _, took = status_json(client, users, "alice", sub_id, seen="running/None")
    assert took < 1.0  # it shows something else: at once
    reply, took = status_json(client, users, "alice", sub_id, seen="queued/None")
    assert reply.json()["state"] == "queued/None" and 2.0 <= took < 5  # nothing changed
    refused, took = status_json(client, users, "bob", sub_id, seen="queued/None")
    assert refused.status_code in (403, 404) and took < 1.0

    def claimed_later() -> None:
        time.sleep(0.5)
        with sessions() as session:
            assert lifecycle.claim_submission(session, submission_id=sub_id, attempt=1,
                                              owner="test", lease_seconds=60)
            session.commit()
    client.app.state.changes.most = 30.0
    thread = threading.Thread(target=claimed_later)
    thread.start()
    reply, took = status_json(client, users, "alice", sub_id, seen="queued/None")
    thread.join()
    assert reply.json()["state"] == "running/None" and 0.5 <= took < 5
    with sessions() as session:  # graded, its training run to follow: the page waits for it
        run = lifecycle.record_graded(session, submission=crud.get_submission(
            session, submission_id=sub_id), attempt=1, owner="test", report=made_report(),
            started_at=utcnow(), training=True)
        session.commit()
        run_id = run.id

    def trained_later() -> None:
        time.sleep(0.5)
        with sessions() as session:
            session.get(GradingRun, run_id).training = TrainingStatus.DONE
            session.commit()
    thread = threading.Thread(target=trained_later)
    thread.start()
    reply, took = status_json(client, users, "alice", sub_id, seen="graded/pending")
    thread.join()
    assert reply.json()["state"] == "graded/done" and 0.5 <= took < 5
