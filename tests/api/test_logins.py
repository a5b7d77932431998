"""The login alphabet (issue 26 item 4): one rule (submissions_api/logins.py) refused with its
reason at every entry (roster, the users page, the API), old rows renamed at start so their
pages answer again, and no control character in any CSV or terminal line."""

from __future__ import annotations

import csv
import io

import pytest

from submissions_api.bootstrap import rename_unsafe_logins
from submissions_api.client import _print_result
from submissions_api.logins import is_login, login_problem, safe_login
from submissions_api.store import crud
from submissions_api.store.models_grading import GradingRun
from tests.api.test_exports import FAILED, seed
from tests.api.test_staff import SLUG, graded
from tests.api.test_staff_pages import as_user

A = "/api/v1"
HOSTILE = ["a/b", "=HYPERLINK(\"http://x\")", "-x", "@x", ".x", "a b", "a\x1b[2Jb", "é",
           "a%2Fb", "x" * 101, "", "a\u202eb", "../etc"]


@pytest.mark.parametrize("login", HOSTILE)
def test_login_alphabet_refuses_with_a_reason(login):
    assert not is_login(login) and login_problem(login)
    assert "\x1b" not in login_problem(login) and "\u202e" not in login_problem(login)
    assert is_login(safe_login(login, {"a-b"}))


def test_login_alphabet_accepts_what_rosters_hold():
    for login in ("alice", "a.b_c-d", "7alice", "A" * 100, "kwame.a"):
        assert is_login(login) and login_problem(login) == ""
    assert safe_login("a/b", {"a-b"}) == "a-b-2" and safe_login("=HYPERLINK(1)") == "HYPERLINK-1"
    assert safe_login("///", fallback="user-7") == "user-7"


def test_api_and_page_refuse_bad_logins_with_the_reason(client, users):
    for login in ("a/b", "=HYPERLINK(\"x\")", "bob smith"):
        reply = client.post(f"{A}/users", json={"login": login, "name": "X"},
                            headers=users.headers("prof"))
        assert reply.status_code == 422, login
        assert "a login is letters" in reply.json()["detail"][0]["msg"], login
    c = as_user(client, users, "prof")
    page = c.post("/staff/users", data={"login": "a/b", "name": "Ann", "role": "ta"})
    assert page.status_code == 422 and "the login &#39;a/b&#39; has &#39;/&#39;" in page.text
    assert 'value="a/b"' in page.text and 'value="Ann"' in page.text  # the form keeps them
    reply = client.post(f"{A}/users", json={"login": "ann", "name": "Ann\x1b[31m\u202eX"},
                        headers=users.headers("prof"))
    assert reply.status_code == 201 and reply.json()["user"]["name"] == "Ann[31mX"


def test_old_rows_with_bad_logins_are_renamed_and_their_pages_answer(client, users, sessions):
    with sessions() as session:  # rows from before the rule: the API accepted them
        for login in ("a/b", "=HYPERLINK(\"x\")", "a-b"):
            crud.create_user(session, login=login, name="Old", role="student")
        session.commit()
    sub = graded(sessions, "a/b", 50.0)
    with sessions() as session:
        assert sorted(rename_unsafe_logins(session)) == [("=HYPERLINK(\"x\")", "HYPERLINK-x"),
                                                         ("a/b", "a-b-2")]
        session.commit()
        assert rename_unsafe_logins(session) == []  # once
        moved = crud.get_user_by_login(session, login="a-b-2")
        assert moved.name == "Old (login was 'a/b')"
        assert crud.get_submission(session, submission_id=sub).user_id == moved.id
    c = as_user(client, users, "prof")
    assert c.get("/staff/students/a-b-2").status_code == 200
    assert c.get("/staff/students/HYPERLINK-x").status_code == 200


def test_control_characters_never_reach_a_csv(client, users, sessions):
    _, bob = seed(sessions)
    with sessions() as session:
        crud.get_user_by_login(session, login="alice").name = "Al\x1b]0;pwned\x07ice\u202e"
        run = session.get(GradingRun, crud.get_submission(session, submission_id=bob)
                          .current_run_id)
        run.summary = {"tests": [  # a message as a hand-in could make it
            dict(t, messages=["bad\x1b[2J\x00 value\r\nnext"]) if t["id"] == FAILED.id else t
            for t in run.summary["tests"]]}
        session.commit()
    texts = [client.get(f"{A}/assignments/{SLUG}/gradebook.csv?format={f}",
                        headers=users.headers("ta1")).text
             for f in ("mlpgrade", "canvas", "moodle", "tests")]
    c = as_user(client, users, "ta1")
    texts.append(c.get(f"/staff/assignments/{SLUG}/tests/{FAILED.id}/failing.csv").text)
    for text in texts:
        assert not any(ch in text for ch in "\x1b\x07\x00\u202e\r"), text
    failing = list(csv.DictReader(io.StringIO(texts[-1])))
    assert failing[0]["message"] == "bad[2J value\nnext"
    assert "Al]0;pwnedice" in texts[0]


def test_submit_prints_no_terminal_escape_of_the_feedback(capsys):
    sub = {"status": "graded", "score_text": "0/95", "result": {"tests": [
        {"id": "linear_layer_forward", "name": "Linear\x1b]0;x\x07", "passed": False,
         "points": 0, "max_points": 5,
         "feedback": "bad\x1b[2J\u202evalue\nmore\x1b[1m"}],
        "causes": [{"fix_first": "linear_layer_forward", "fix_first_name": "Linear\x1b]0;x\x07",
                    "location": "", "message": "bad\x1b[2J\u202evalue"}]}}
    assert _print_result(sub) == 0
    out = capsys.readouterr().out
    assert "1. Linear]0;x: bad[2Jvalue" in out and "more[1m" in out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
