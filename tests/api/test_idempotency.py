"""Uploading twice (issue 27 item 3): a retried upload is one submission. The same
Idempotency-Key from the same user, or the same bytes to the same assignment within the
duplicate window, is answered with the first submission's receipt, not a new submission."""

from __future__ import annotations

import dataclasses
import re

import pytest
from fastapi.testclient import TestClient

from submissions_api.deps import SESSION_COOKIE
from submissions_api.jobs import Dispatcher
from submissions_api.main import create_app
from submissions_api.store.models_grading import Submission
from tests.handins import make_handin_tar

A = "/api/v1"
TAR = make_handin_tar()
OTHER = make_handin_tar(extra={"hw1/notes.py": "# another\n"})


@pytest.fixture
def dispatcher(backend):
    """The API's settings with a duplicate window (the shared fixtures turn it off)."""
    return Dispatcher(dataclasses.replace(backend, duplicate_window=60))


@pytest.fixture
def client(dispatcher, users):
    with TestClient(create_app(dispatcher.settings, dispatcher)) as c:
        yield c


def upload(client, users, login, data=TAR, key=None):
    headers = {**users.headers(login), **({"Idempotency-Key": key} if key else {})}
    return client.post(f"{A}/assignments/hw1p1-s20/submissions", headers=headers,
                       files={"file": ("handin.tar", data)})


def count(sessions) -> int:
    with sessions() as session:
        return session.query(Submission).count()


def test_idempotency_key_retry_gets_the_first_submission(client, users, sessions, dispatcher):
    first = upload(client, users, "alice", key="k-1")
    again = upload(client, users, "alice", key="k-1")
    assert first.status_code == again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"]
    assert count(sessions) == 1 and dispatcher.queue_size("live") == 1  # graded once


def test_idempotency_key_retry_is_not_refused_by_the_cooldown(client, users, sessions):
    reply = client.patch(f"{A}/assignments/hw1p1-s20", headers=users.headers("prof"),
                         json={"cooldown_seconds": 600, "submission_limit": 1})
    assert reply.status_code == 200, reply.text
    first = upload(client, users, "alice", OTHER, key="k-2")
    again = upload(client, users, "alice", OTHER, key="k-2")
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
    new = upload(client, users, "alice", TAR, key="k-3")  # a new upload is held to the limit
    assert new.status_code == 429, new.text


def test_same_bytes_within_window_without_key_is_one_submission(client, users, sessions):
    first = upload(client, users, "alice")
    again = upload(client, users, "alice")
    assert again.json()["id"] == first.json()["id"]
    other_student = upload(client, users, "bob")
    other_bytes = upload(client, users, "alice", OTHER)
    assert len({first.json()["id"], other_student.json()["id"], other_bytes.json()["id"]}) == 3
    assert count(sessions) == 3


def test_a_key_reused_for_other_bytes_is_refused(client, users, sessions):
    upload(client, users, "alice", key="k-4")
    reply = upload(client, users, "alice", OTHER, key="k-4")
    assert reply.status_code == 422 and "Idempotency-Key" in reply.json()["detail"]
    assert count(sessions) == 1


def test_same_key_from_another_user_is_another_upload(client, users, sessions):
    a = upload(client, users, "alice", key="shared")
    b = upload(client, users, "bob", key="shared")
    assert a.json()["id"] != b.json()["id"] and count(sessions) == 2


def test_upload_page_form_sent_twice_is_one_submission(client, users, sessions, dispatcher):
    """The upload page carries one key per page shown: the browser sending its form again (a
    reload of the POST, a second click after a lost answer) gets the first submission, even
    outside the duplicate window; the page shown next carries a new key."""
    dispatcher.settings = dataclasses.replace(dispatcher.settings, duplicate_window=0)
    client.cookies.set(SESSION_COOKIE, users.tokens["alice"])
    page = client.get("/assignments/hw1p1-s20").text
    [key] = re.findall(r'name="idempotency_key" value="([^"]+)"', page)
    sent = [client.post("/assignments/hw1p1-s20/upload", data={"idempotency_key": key},
                        files={"file": ("handin.tar", TAR)}, follow_redirects=False)
            for _ in range(2)]
    assert [r.status_code for r in sent] == [303, 303]
    assert sent[0].headers["location"] == sent[1].headers["location"]
    assert count(sessions) == 1 and dispatcher.queue_size("live") == 1
    [next_key] = re.findall(r'name="idempotency_key" value="([^"]+)"',
                            client.get("/assignments/hw1p1-s20").text)
    assert next_key != key
