"""Exports a course takes to its LMS and its TAs (issue 13): the gradebook as Canvas imports it,
points per test, and who fails a given test; each of the submission that counts."""

from __future__ import annotations

import csv
import io

from grader.rubric import load_assignment
from submissions_api.store import crud
from submissions_api.store.models_grading import GradingRun, RunOutcome
from tests.api.test_staff import graded
from tests.api.test_staff_pages import as_user

A = "/api/v1"
SLUG = "hw1p1-s20"
TESTS = load_assignment(SLUG).tests
FAILED = TESTS[3]  # the one test bob's counted submission fails


def with_run(sessions, sub_id: int, fails: tuple[str, ...] = ()) -> None:
    """Give a graded submission a current run whose summary fails `fails`."""
    summary = {"tests": [{"id": t.id, "name": t.name, "passed": t.id not in fails,
                          **({"status": "ok", "messages": ["Wrong values for y"]}
                             if t.id in fails else {})} for t in TESTS]}
    with sessions() as session:
        sub = crud.get_submission(session, submission_id=sub_id)
        run = GradingRun(submission_id=sub_id, attempt=1, outcome=RunOutcome.GRADED,
                         score=sub.score, summary=summary)
        session.add(run)
        session.flush()
        sub.current_run_id = run.id
        session.commit()


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def seed(sessions) -> tuple[int, int]:
    full = sum(t.points for t in TESTS)
    alice = graded(sessions, "alice", full)
    with_run(sessions, alice)
    bob = graded(sessions, "bob", full - FAILED.points)
    with_run(sessions, bob, (FAILED.id,))
    with sessions() as session:  # a name a spreadsheet would run as a formula
        crud.get_user_by_login(session, login="bob").name = "=HYPERLINK(\"x\")"
        session.commit()
    return alice, bob


def test_canvas_gradebook_csv(client, users, sessions):
    alice, bob = seed(sessions)
    reply = client.get(f"{A}/assignments/{SLUG}/gradebook.csv?format=canvas",
                       headers=users.headers("ta1"))
    assert reply.status_code == 200, reply.text
    assert "canvas.csv" in reply.headers["content-disposition"]
    table = rows(reply.text)
    assert table[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    with sessions() as session:
        assert table[0][5] == crud.get_assignment(session, slug=SLUG).title
    assert table[1][0] == "Points Possible" and float(table[1][5]) == 100.0  # 95 + manual 5
    by_login = {r[3]: r for r in table[2:]}
    assert set(by_login) == {"alice", "bob"}
    assert float(by_login["alice"][5]) == 95.0
    assert float(by_login["bob"][5]) == 95.0 - FAILED.points
    assert by_login["bob"][0] == "'=HYPERLINK(\"x\")"  # never a formula
    assert client.get(f"{A}/assignments/{SLUG}/gradebook.csv?format=canvas",
                      headers=users.headers("alice")).status_code == 403
    assert client.get(f"{A}/assignments/{SLUG}/gradebook.csv?format=excel",
                      headers=users.headers("ta1")).status_code == 422


def test_points_per_test_csv(client, users, sessions):
    seed(sessions)
    reply = client.get(f"{A}/assignments/{SLUG}/gradebook.csv?format=tests",
                       headers=users.headers("ta1"))
    assert reply.status_code == 200, reply.text
    table = rows(reply.text)
    header = table[0]
    assert header[:4] == ["login", "name", "submission_id", "automatic_score"]
    assert header[4:] == [t.id for t in TESTS]
    assert table[1][4:] == [t.name for t in TESTS]
    assert [float(p) for p in table[2][4:]] == [t.points for t in TESTS]
    by_login = {r[0]: dict(zip(header, r, strict=True)) for r in table[3:]}
    assert all(float(by_login["alice"][t.id]) == t.points for t in TESTS)
    assert float(by_login["bob"][FAILED.id]) == 0.0
    assert sum(float(by_login["bob"][t.id]) for t in TESTS) == float(
        by_login["bob"]["automatic_score"])


def test_who_fails_a_test(client, users, sessions):
    alice, bob = seed(sessions)
    reply = client.get(f"{A}/assignments/{SLUG}/tests/{FAILED.id}/failing",
                       headers=users.headers("ta1"))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["test"] == {"id": FAILED.id, "name": FAILED.name, "points": FAILED.points}
    assert body["graded_students"] == 2
    assert [(s["login"], s["submission_id"], s["message"]) for s in body["students"]] == [
        ("bob", bob, "Wrong values for y")]
    passed = client.get(f"{A}/assignments/{SLUG}/tests/{TESTS[0].id}/failing",
                        headers=users.headers("ta1")).json()
    assert passed["students"] == []
    assert client.get(f"{A}/assignments/{SLUG}/tests/no_such_test/failing",
                      headers=users.headers("ta1")).status_code == 404
    assert client.get(f"{A}/assignments/{SLUG}/tests/{FAILED.id}/failing",
                      headers=users.headers("alice")).status_code == 403
    # the pages: the dashboard links each test to its list, which links the submission
    c = as_user(client, users, "ta1")
    dashboard = c.get(f"/staff/assignments/{SLUG}").text
    assert f'href="/staff/assignments/{SLUG}/tests/{FAILED.id}"' in dashboard
    assert "?format=canvas" in dashboard and "?format=tests" in dashboard
    page = c.get(f"/staff/assignments/{SLUG}/tests/{FAILED.id}").text
    assert f'href="/staff/submissions/{bob}"' in page and f"/staff/submissions/{alice}" not in page
    assert "<strong>1</strong> of 2 graded students fails" in page
    csv_reply = c.get(f"/staff/assignments/{SLUG}/tests/{FAILED.id}/failing.csv")
    assert rows(csv_reply.text)[1][:3] == ["bob", "'=HYPERLINK(\"x\")", str(bob)]
    assert as_user(client, users, "alice").get(
        f"/staff/assignments/{SLUG}/tests/{FAILED.id}").status_code == 403
