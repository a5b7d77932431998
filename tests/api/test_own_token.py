"""Every user can see and rotate their own token (issue 13): `POST /api/v1/me/tokens/rotate` and
the account page share services/users.rotate_own_token. Only your own token; a revoked user has
none left to rotate with; the page's form posts only from this site and re-signs the browser in."""

from __future__ import annotations

import pytest

from submissions_api.deps import SESSION_COOKIE
from submissions_api.store import crud

A = "/api/v1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def me(client, token: str) -> int:
    return client.get(f"{A}/me", headers=bearer(token)).status_code


@pytest.mark.parametrize("login", ["alice", "ta1", "prof"])
def test_api_anyone_rotates_their_own_token(client, users, login):
    old = users.tokens[login]
    reply = client.post(f"{A}/me/tokens/rotate", headers=bearer(old))
    assert reply.status_code == 201, reply.text
    new = reply.json()["token"]
    assert reply.json()["user"]["login"] == login and new.startswith("mlp_") and new != old
    assert (me(client, new), me(client, old)) == (200, 401)
    assert all(me(client, users.tokens[other]) == 200 for other in users.tokens if other != login)


def test_api_a_student_rotates_no_one_elses_token(client, users):
    assert client.post(f"{A}/users/bob/tokens/rotate",
                       headers=users.headers("alice")).status_code == 403
    assert client.post(f"{A}/users/bob/tokens/rotate",
                       headers=users.headers("ta1")).status_code == 403
    assert me(client, users.tokens["bob"]) == 200


def test_a_revoked_user_cannot_rotate(client, users, sessions):
    assert client.post(f"{A}/users/alice/revoke",
                       headers=users.headers("prof")).json() == {"revoked": 1}
    old = users.tokens["alice"]
    assert client.post(f"{A}/me/tokens/rotate", headers=bearer(old)).status_code == 401
    client.cookies.set(SESSION_COOKIE, old)
    page = client.post("/account/token", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    with sessions() as session:
        alice = crud.get_user_by_login(session, login="alice")
        assert [t.revoked_at is not None for t in crud.list_tokens(session, user=alice)] == [True]


def test_account_page_rotates_and_signs_the_browser_in_again(client, users):
    old = users.tokens["bob"]
    client.cookies.set(SESSION_COOKIE, old)
    page = client.get("/account")
    assert page.status_code == 200 and ">bob<" in page.text and "used by this browser" in page.text
    assert 'href="/account"' in page.text  # the header links every page to it
    # a form posted from another site is refused, and nothing changes
    assert client.post("/account/token", headers={"Origin": "http://evil.test"}).status_code == 403
    assert me(client, old) == 200
    rotated = client.post("/account/token")
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    new = rotated.cookies[SESSION_COOKIE]
    assert new != old and f'id="token-value">{new}<' in rotated.text
    assert "will not be shown again" in rotated.text
    assert (me(client, new), me(client, old)) == (200, 401)
    client.cookies.set(SESSION_COOKIE, new)
    again = client.get("/account")
    assert again.status_code == 200 and "used by this browser" in again.text
    assert new not in again.text  # shown once
