"""What staff see and do of the passback: the page per assignment (sent, pending, failing with
the platform's answer; re-send all; sync a roster), linked from the dashboard when the assignment
has LMS links, and the `mlpgrade lti` commands."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from submissions_api.cli import main
from submissions_api.deps import SESSION_COOKIE
from submissions_api.lms import passback
from submissions_api.store.models_lms import ScoreOutbox
from tests.lms.fixtures import CONTEXT, SLUG
from tests.lms.test_passback import grade

PAGE = f"/staff/assignments/{SLUG}/lms"


def as_user(client, users, login):
    client.cookies.set(SESSION_COOKIE, users.tokens[login])
    return client


def test_staff_page_shows_sent_and_failing_and_resends(course, client, users, sessions):
    grade(sessions, "alice", 95.0)
    assert passback.drain(sessions, backoff=0.2) == {"sent": 1}
    course.state.mode = "500"
    grade(sessions, "bob", 30.0)
    assert passback.drain(sessions, backoff=0.2) == {"failed": 1}
    assert as_user(client, users, "alice").get(PAGE).status_code == 403
    ta = as_user(client, users, "ta1")
    assert 'id="lms-grades"' in ta.get(f"/staff/assignments/{SLUG}").text
    page = ta.get(PAGE)
    assert page.status_code == 200
    assert "1 sent · 0 pending · 1 failing" in page.text
    metrics = client.get("/metrics", headers=users.headers("ta1")).text
    assert 'mlpgrade_lms_scores{state="failing"} 1.0' in metrics
    alice_row = page.text.split('id="lms-alice"')[1].split("</tr>")[0]
    bob_row = page.text.split('id="lms-bob"')[1].split("</tr>")[0]
    assert ">sent<" in alice_row and ">95<" in alice_row
    assert "failing" in bob_row and "answered 500" in bob_row
    done = ta.post(f"{PAGE}/resend", follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("resent=2")
    with sessions() as session:
        rows = session.scalars(select(ScoreOutbox)).all()
        assert all(r.version > r.sent_version and r.next_try_at is None for r in rows)
    course.state.mode = "up"
    assert passback.drain(sessions, backoff=0.2) == {"sent": 2}
    synced = ta.post(f"{PAGE}/sync/{course.context_pk}", follow_redirects=False)
    assert synced.status_code == 303


def test_cli_scores_resend_and_sync(course, backend, sessions, monkeypatch, capsys):
    for key, value in {"MLPGRADE_DATABASE_URL": backend.database_url,
                       "MLPGRADE_BROKER_URL": backend.broker_url,
                       "MLPGRADE_QUEUE_PREFIX": backend.queue_prefix,
                       "MLPGRADE_HOME": str(backend.home)}.items():
        monkeypatch.setenv(key, value)
    grade(sessions, "alice", 95.0)
    passback.drain(sessions, backoff=0.2)
    assert main(["lti", "scores", "--assignment", SLUG]) == 0
    [row] = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert (row["login"], row["state"], row["sent_score"]) == ("alice", "sent", "95.0")
    assert main(["lti", "resend", "--assignment", SLUG]) == 0
    assert "2 score(s)" in capsys.readouterr().out
    course.state.members[CONTEXT] = [{"user_id": "sub-alice", "name": "Alice A", "roles": []},
                                  {"user_id": "new-1", "name": "Nora New", "roles": []}]
    assert main(["lti", "sync"]) == 0
    out = capsys.readouterr().out
    assert "2 members: 1 added, 1 updated, 1 deactivated" in out
    assert main(["lti", "sync", "--context", "Nope"]) == 2
    assert "no LMS course 'Nope'" in capsys.readouterr().err


def test_cli_scores_csv_carries_no_control_character(course, backend, sessions, monkeypatch,
                                                     capsys):
    """An LMS's error answer is kept as the outbox row's last error; `mlpgrade lti scores`
    prints it through csvout like every CSV (issue 26 item 4): no terminal escape, no formula."""
    for key, value in {"MLPGRADE_DATABASE_URL": backend.database_url,
                       "MLPGRADE_BROKER_URL": backend.broker_url,
                       "MLPGRADE_QUEUE_PREFIX": backend.queue_prefix,
                       "MLPGRADE_HOME": str(backend.home)}.items():
        monkeypatch.setenv(key, value)
    grade(sessions, "alice", 95.0)
    with sessions() as session:
        for row in session.query(ScoreOutbox).all():
            row.last_error = "=HYPERLINK(\"x\")\x1b]0;pwned\x07\x1b[2J\u202e 503"
        session.commit()
    assert main(["lti", "scores", "--assignment", SLUG]) == 0
    out = capsys.readouterr().out
    assert not any(ch in out for ch in "\x1b\x07\u202e"), out
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["last_error"] == "'=HYPERLINK(\"x\")]0;pwned[2J 503"
