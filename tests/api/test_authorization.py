"""Every role boundary of the API: who may call what (401 without a valid token, 403 without the
role, 404 for what does not exist, and students only ever see their own data)."""

from __future__ import annotations

import pytest

from submissions_api import security
from submissions_api.store import crud
from submissions_api.store.models import ApiToken, utcnow
from submissions_api.store.models_grading import Status
from tests.handins import make_handin_tar

A = "/api/v1"
TAR = make_handin_tar()


def upload(client, users, login, slug="hw1p1-s20"):
    return client.post(f"{A}/assignments/{slug}/submissions", headers=users.headers(login),
                       files={"file": ("handin.tar", TAR)})


# (method, path, json, allowed roles). {sub} is alice's submission, {golden} a golden set.
MATRIX = [
    ("GET", "/assignments", None, {"alice", "ta1", "prof"}),
    ("GET", "/assignments/hw1p1-s20", None, {"alice", "ta1", "prof"}),
    ("PATCH", "/assignments/hw1p1-s20", {"cooldown_seconds": 0}, {"prof"}),
    ("GET", "/assignments/hw1p1-s20/extensions", None, {"ta1", "prof"}),
    ("PUT", "/assignments/hw1p1-s20/extensions/bob", {"deadline": "2030-01-01T00:00:00Z"},
     {"ta1", "prof"}),
    ("GET", "/users", None, {"ta1", "prof"}),
    ("POST", "/users", {"login": "new", "role": "student"}, {"prof"}),
    ("POST", "/users/alice/tokens", None, {"prof", "alice"}),
    ("GET", "/submissions/{sub}", None, {"alice", "ta1", "prof"}),
    ("GET", "/submissions/{sub}/handin", None, {"alice", "ta1", "prof"}),
    ("GET", "/submissions/{sub}/runs", None, {"ta1", "prof"}),
    ("POST", "/submissions/{sub}/regrade", None, {"ta1", "prof"}),
    ("POST", "/assignments/hw1p1-s20/regrade", {"latest_only": True}, {"ta1", "prof"}),
    ("GET", "/assignments/hw1p1-s20/gradebook.csv", None, {"ta1", "prof"}),
    ("GET", "/assignments/hw1p1-s20/stats", None, {"ta1", "prof"}),
    ("GET", "/assignments/hw1p1-s20/golden-sets", None, {"ta1", "prof"}),
    ("POST", "/assignments/hw1p1-s20/golden-sets/regenerate", None, {"prof"}),
    ("GET", "/golden-sets/{golden}", None, {"ta1", "prof"}),
]


@pytest.fixture
def targets(client, users, sessions):
    reply = upload(client, users, "alice")
    assert reply.status_code == 202, reply.text
    sub_id = reply.json()["id"]
    with sessions() as session:  # as if graded, so that a regrade may start
        sub = crud.get_submission(session, submission_id=sub_id)
        sub.status = Status.GRADED
        admin = crud.get_user_by_login(session, login="prof")
        golden = crud.create_golden_set(session, assignment=sub.assignment, created_by=admin,
                                        status="verifying")
        session.commit()
        return {"sub": sub_id, "golden": golden.id}


@pytest.mark.parametrize("method,path,body,allowed", MATRIX,
                         ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
@pytest.mark.parametrize("login", ["bob", "alice", "ta1", "prof"])
def test_api_role_matrix(client, users, targets, method, path, body, allowed, login):
    url = A + path.format(**targets)
    reply = client.request(method, url, headers=users.headers(login), json=body)
    # bob is a student like alice, but never the owner of alice's submission or account
    owned = "{sub}" in path or "alice" in path
    permitted = login in allowed or (login == "bob" and "alice" in allowed and not owned)
    if permitted:
        assert reply.status_code < 400, (login, url, reply.status_code, reply.text)
    else:
        assert reply.status_code == 403, (login, url, reply.status_code, reply.text)


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer mlp_wrong", "Basic abc"])
def test_api_rejects_missing_or_bad_token(client, header):
    headers = {"Authorization": header} if header else {}
    assert client.get(f"{A}/me", headers=headers).status_code == 401
    assert client.post(f"{A}/assignments/hw1p1-s20/submissions", headers=headers,
                       files={"file": ("handin.tar", TAR)}).status_code == 401


def test_api_health_needs_no_token(client):
    reply = client.get("/health")
    assert reply.status_code == 200
    assert reply.json()["database"] == "ok" and reply.json()["broker"] == "ok"


def test_api_student_lists_only_own_submissions(client, users):
    upload(client, users, "alice")
    upload(client, users, "bob")
    mine = client.get(f"{A}/submissions", headers=users.headers("alice")).json()
    assert [s["login"] for s in mine] == ["alice"]
    assert client.get(f"{A}/submissions?login=bob",
                      headers=users.headers("alice")).status_code == 403
    staff = client.get(f"{A}/submissions", headers=users.headers("ta1")).json()
    assert sorted(s["login"] for s in staff) == ["alice", "bob"]
    only_bob = client.get(f"{A}/submissions?login=bob", headers=users.headers("ta1")).json()
    assert [s["login"] for s in only_bob] == ["bob"]


def test_api_unknown_things_are_404(client, users):
    h = users.headers("prof")
    assert client.get(f"{A}/submissions/999999", headers=h).status_code == 404
    assert client.get(f"{A}/assignments/nope", headers=h).status_code == 404
    assert upload(client, users, "alice", slug="nope").status_code == 404
    assert client.get(f"{A}/regrades/999", headers=h).status_code == 404
    assert client.post(f"{A}/golden-sets/999/activate", headers=h).status_code == 404


def test_api_revoked_token_is_refused(client, users, sessions):

    with sessions() as session:
        for row in session.query(ApiToken).all():
            if row.token_hash == security.hash_token(users.tokens["alice"]):
                row.revoked_at = utcnow()
        session.commit()
    assert client.get(f"{A}/me", headers=users.headers("alice")).status_code == 401
    assert client.get(f"{A}/me", headers=users.headers("bob")).status_code == 200


def test_api_tokens_are_stored_hashed(users, sessions):

    with sessions() as session:
        stored = {row.token_hash for row in session.query(ApiToken).all()}
    assert not stored & set(users.tokens.values())
    assert security.hash_token(users.tokens["alice"]) in stored


def test_api_instructor_creates_users_and_tokens_work(client, users):
    reply = client.post(f"{A}/users", headers=users.headers("prof"),
                        json={"login": "carol", "name": "Carol", "role": "ta"})
    assert reply.status_code == 201
    token = reply.json()["token"]
    me = client.get(f"{A}/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["login"] == "carol" and me["role"] == "ta"
    again = client.post(f"{A}/users", headers=users.headers("prof"), json={"login": "carol"})
    assert again.status_code == 409


def test_api_student_may_renew_own_token_only(client, users):
    assert client.post(f"{A}/users/alice/tokens",
                       headers=users.headers("alice")).status_code == 201
    assert client.post(f"{A}/users/bob/tokens",
                       headers=users.headers("alice")).status_code == 403
