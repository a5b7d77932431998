"""Issue 13's rules at the API: the sign-in cookie follows the scheme, impossible deadlines are
refused, the API docs are served without a CDN, and a student learns why training drew nothing."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from fastapi.testclient import TestClient

from grader.student_view import student_view
from submissions_api.main import create_app
from submissions_api.store.models import utcnow
from tests.handins import make_handin_tar
from tests.reports import made_report

A = "/api/v1"

TAR = make_handin_tar()  # a hand-in the door accepts (refused ones never count)


def sign_in(client, users, **headers):
    return client.post("/login", data={"token": users.tokens["alice"], "next": "/"},
                       headers=headers, follow_redirects=False)


def test_cookie_is_not_secure_over_plain_http(client, users):
    reply = sign_in(client, users)
    assert reply.status_code == 303 and reply.headers["location"] == "/login/check?next=/"
    cookie = reply.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie


def test_cookie_is_secure_over_https(backend, dispatcher, users):
    with TestClient(create_app(backend, dispatcher), base_url="https://course.test") as c:
        assert "secure" in sign_in(c, users).headers["set-cookie"].lower()


def test_forwarded_proto_counts_only_when_trusted(backend, dispatcher, users):
    with TestClient(create_app(backend, dispatcher)) as c:  # anyone can send the header
        reply = sign_in(c, users, **{"X-Forwarded-Proto": "https"})
        assert "secure" not in reply.headers["set-cookie"].lower()
    trusted = dataclasses.replace(backend, trust_forwarded_proto=True)
    with TestClient(create_app(trusted, dispatcher)) as c:
        reply = sign_in(c, users, **{"X-Forwarded-Proto": "https"})
        assert "secure" in reply.headers["set-cookie"].lower()
        # and the same-origin check of form posts agrees with the browser's https:// origin
        reply = c.post("/logout", headers={"X-Forwarded-Proto": "https",
                                           "Origin": "https://testserver"},
                       follow_redirects=False)
        assert reply.status_code == 303


def test_check_page_says_when_no_cookie_came_back(client):
    reply = client.get("/login/check?next=/assignments/x")
    assert reply.status_code == 400
    assert "did not keep the sign-in cookie" in reply.text


def test_check_page_goes_on_when_the_cookie_came_back(client, users):
    sign_in(client, users)  # the client keeps the cookie
    reply = client.get("/login/check?next=/assignments/x", follow_redirects=False)
    assert (reply.status_code, reply.headers["location"]) == (303, "/assignments/x")


def test_late_deadline_before_deadline_is_refused(client, users):
    now = utcnow()
    reply = client.patch(f"{A}/assignments/hw1p1-s20", headers=users.headers("prof"),
                         json={"deadline": (now + timedelta(days=2)).isoformat(),
                               "late_deadline": (now + timedelta(days=1)).isoformat()})
    assert reply.status_code == 422
    assert "must come after the deadline" in reply.json()["detail"]
    a = client.get(f"{A}/assignments/hw1p1-s20", headers=users.headers("prof")).json()
    assert (a["deadline"], a["late_deadline"]) == (None, None)  # nothing was saved


def test_late_deadline_without_deadline_is_refused(client, users):
    reply = client.patch(f"{A}/assignments/hw1p1-s20", headers=users.headers("prof"),
                         json={"late_deadline": utcnow().isoformat()})
    assert reply.status_code == 422 and "needs a deadline" in reply.json()["detail"]


def test_clearing_the_deadline_keeps_a_late_one_refused(client, users):
    now = utcnow()
    ok = client.patch(f"{A}/assignments/hw1p1-s20", headers=users.headers("prof"),
                      json={"deadline": now.isoformat(),
                            "late_deadline": (now + timedelta(days=1)).isoformat()})
    assert ok.status_code == 200
    reply = client.patch(f"{A}/assignments/hw1p1-s20", headers=users.headers("prof"),
                         json={"deadline": None})  # the stored late deadline would dangle
    assert reply.status_code == 422 and "needs a deadline" in reply.json()["detail"]


def test_extension_late_deadline_before_its_deadline_is_refused(client, users):
    now = utcnow()
    reply = client.put(f"{A}/assignments/hw1p1-s20/extensions/alice",
                       headers=users.headers("ta1"),
                       json={"deadline": (now + timedelta(days=2)).isoformat(),
                             "late_deadline": (now + timedelta(days=1)).isoformat()})
    assert reply.status_code == 422 and "must come after the deadline" in reply.json()["detail"]


def test_docs_load_their_scripts_from_us(client):
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = client.get(page).text
        assert f"/static/apidocs/{asset}" in html and "cdn." not in html
        reply = client.get(f"/static/apidocs/{asset}")
        assert reply.status_code == 200 and len(reply.content) > 100_000
    assert client.get("/static/apidocs/../main.py").status_code == 404


def test_student_report_says_why_training_drew_no_curves():
    report = made_report(artifacts=["training_losses.png"], manual=[
        {"id": "training", "name": "Training statistics", "max_points": 5, "points": None,
         "evidence": {"checks": [
             {"name": "ran", "passed": False,
              "message": "get_training_stats did not complete: ZeroDivisionError: division by "
                         "zero"}]}}])
    notes = student_view(report)["training_notes"]
    assert notes == ["get_training_stats did not complete: ZeroDivisionError: division by zero"]
    ran = made_report(manual=[{"id": "training", "name": "Training statistics", "max_points": 5,
                               "evidence": {"checks": [
        {"name": "shapes", "passed": True, "message": "four arrays"},
        {"name": "training_losses fall", "passed": False, "message": "does not fall"}]}}])
    assert student_view(ran)["training_notes"] == []  # drawn: the TA grades the rest


def test_upload_context_warns_late_and_closes_when_refused(client, users, sessions):
    from submissions_api.services.student_context import upload_context
    from submissions_api.store import crud
    now = utcnow()
    with sessions() as session:
        a = crud.get_assignment(session, slug="hw1p1-s20")
        alice = crud.get_user_by_login(session, login="alice")
        a.deadline, a.late_deadline, a.late_penalty = (now - timedelta(hours=1),
                                                       now + timedelta(hours=1), 0.1)
        ctx = upload_context(session, a, alice, now)
        assert ctx.closed == "" and ctx.warning == \
            "The deadline has passed: this upload will be late, −10 % of its score."
        closed = upload_context(session, a, alice, now + timedelta(hours=2))
        assert closed.closed.startswith(
            f"Submissions closed on {a.late_deadline.strftime('%Y-%m-%d %H:%M')} UTC")
        a.deadline = a.late_deadline = None
        a.submission_limit = 1
        session.commit()
    assert client.post(f"{A}/assignments/hw1p1-s20/submissions", headers=users.headers("alice"),
                       files={"file": ("handin.tar", TAR)}).status_code == 202
    with sessions() as session:
        a = crud.get_assignment(session, slug="hw1p1-s20")
        alice = crud.get_user_by_login(session, login="alice")
        ctx = upload_context(session, a, alice)
        assert (ctx.closed, ctx.remaining) == (
            "You have used all 1 of your submissions: uploads are no longer accepted.", 0)


def patch(client, users, login="prof", **fields):
    return client.patch(f"{A}/assignments/hw1p1-s20", headers=users.headers(login),
                        json={k: v.isoformat() if hasattr(v, "isoformat") else v
                              for k, v in fields.items()})


def test_hidden_assignment_is_not_found_for_students_only(client, users):
    assert patch(client, users, "ta1", hidden=True).status_code == 403  # instructors only
    assert patch(client, users, hidden=True).json()["hidden"] is True
    for login, status in (("alice", 404), ("ta1", 200), ("prof", 200)):
        assert client.get(f"{A}/assignments/hw1p1-s20",
                          headers=users.headers(login)).status_code == status
    listed = client.get(f"{A}/assignments", headers=users.headers("alice")).json()
    assert "hw1p1-s20" not in [a["slug"] for a in listed]
    upload = client.post(f"{A}/assignments/hw1p1-s20/submissions",
                         headers=users.headers("alice"), files={"file": ("handin.tar", TAR)})
    assert upload.status_code == 404
    assert patch(client, users, hidden=None).json()["hidden"] is False  # cleared: shown
    assert client.get(f"{A}/assignments/hw1p1-s20",
                      headers=users.headers("alice")).status_code == 200


def test_scheduled_assignment_appears_at_its_time(client, users):
    patch(client, users, visible_from=utcnow() + timedelta(hours=1))
    assert client.get(f"{A}/assignments/hw1p1-s20",
                      headers=users.headers("alice")).status_code == 404
    patch(client, users, visible_from=utcnow() - timedelta(seconds=1))
    assert client.get(f"{A}/assignments/hw1p1-s20",
                      headers=users.headers("alice")).status_code == 200


def test_scores_are_held_back_until_release(client, users, sessions):
    from submissions_api.store import crud, lifecycle
    release = utcnow() + timedelta(days=1)
    patch(client, users, release_at=release)
    sub_id = client.post(f"{A}/assignments/hw1p1-s20/submissions", headers=users.headers("alice"),
                         files={"file": ("handin.tar", TAR)}).json()["id"]
    report = made_report(80.0)
    with sessions() as session:
        assert lifecycle.claim_submission(session, submission_id=sub_id, attempt=1, owner="w",
                                          lease_seconds=60)
        sub = crud.get_submission(session, submission_id=sub_id)
        lifecycle.record_graded(session, submission=sub, attempt=1, owner="w", report=report,
                                started_at=utcnow())
        session.commit()
    mine = client.get(f"{A}/submissions/{sub_id}", headers=users.headers("alice")).json()
    assert (mine["status"], mine["score"], mine["final_score"], mine["result"],
            mine["released"]) == ("graded", None, None, None, False)
    assert mine["score_text"] == \
        f"graded; scores and feedback are released on {release:%Y-%m-%d %H:%M} UTC"
    staff = client.get(f"{A}/submissions/{sub_id}", headers=users.headers("ta1")).json()
    assert (staff["score"], staff["released"]) == (80.0, True)
    patch(client, users, release_at=None)
    mine = client.get(f"{A}/submissions/{sub_id}", headers=users.headers("alice")).json()
    assert (mine["score"], mine["released"]) == (80.0, True)
