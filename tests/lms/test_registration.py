"""Registering a platform: `mlpgrade lti add|list|remove` and the instructors' /staff/lms page,
both showing what the LMS needs from the tool."""

from __future__ import annotations

import json
import re
import threading

from sqlalchemy import select

from submissions_api.cli import main
from submissions_api.deps import SESSION_COOKIE
from submissions_api.lms.keys import public_jwks, signing_key
from submissions_api.store.models_lms import LtiDeployment, LtiKey, LtiPlatform

FIELDS = {"name": "Canvas", "issuer": "https://canvas.example.edu", "client_id": "10000000042",
          "deployment_ids": "12:abc 13:def", "auth_login_url": "https://sso.example.edu/auth",
          "auth_token_url": "https://sso.example.edu/token",
          "key_set_url": "https://sso.example.edu/jwks", "auth_audience": ""}


def _sign_in(client, users, login):
    client.cookies.set(SESSION_COOKIE, users.tokens[login])


def test_staff_lms_page_registers_and_shows_tool_config(client, users, sessions):
    _sign_in(client, users, "prof")
    assert 'href="/staff/lms"' in client.get("/").text
    page = client.post("/staff/lms", data=FIELDS)
    assert page.status_code == 200 and "Registered Canvas" in page.text
    assert "http://testserver/lti/login" in page.text
    assert "http://testserver/lti/jwks" in page.text
    canvas = json.loads(re.search(r'<pre id="canvas-json">(.*?)</pre>', page.text, re.S)
                        .group(1).replace("&#34;", '"'))
    assert canvas["oidc_initiation_url"] == "http://testserver/lti/login"
    assert canvas["target_link_uri"] == "http://testserver/lti/launch"
    assert canvas["public_jwk_url"] == "http://testserver/lti/jwks"
    assert "Initiate login URL" in page.text  # Moodle's fields
    with sessions() as session:
        platform = session.scalar(select(LtiPlatform))
        assert (platform.issuer, platform.client_id) == (FIELDS["issuer"], FIELDS["client_id"])
        assert sorted(d.deployment_id for d in platform.deployments) == ["12:abc", "13:def"]
        pid = platform.id
    again = client.post("/staff/lms", data=FIELDS)
    assert again.status_code == 409 and "already registered" in again.text
    bad = client.post("/staff/lms", data={**FIELDS, "client_id": "x", "key_set_url": "jwks"})
    assert bad.status_code == 422 and "public keyset URL" in bad.text
    client.post(f"/staff/lms/{pid}/remove")
    with sessions() as session:
        assert session.scalar(select(LtiPlatform)) is None
        assert session.scalar(select(LtiDeployment)) is None


def test_staff_lms_page_instructors_only(client, users):
    for login in ("ta1", "alice"):
        _sign_in(client, users, login)
        assert client.get("/staff/lms").status_code == 403
        assert client.post("/staff/lms", data=FIELDS).status_code == 403


def test_cli_lti_add_list_remove(backend, monkeypatch, capsys, sessions):
    monkeypatch.setenv("MLPGRADE_HOME", str(backend.home))
    monkeypatch.setenv("MLPGRADE_DATABASE_URL", backend.database_url)
    monkeypatch.setenv("MLPGRADE_PUBLIC_URL", "https://grader.example.edu")
    args = ["lti", "add", "--issuer", FIELDS["issuer"], "--client-id", "42",
            "--deployment-id", "d1", "--deployment-id", "d2",
            "--auth-login-url", FIELDS["auth_login_url"],
            "--auth-token-url", FIELDS["auth_token_url"], "--key-set-url", FIELDS["key_set_url"]]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "login initiation URL: https://grader.example.edu/lti/login" in out
    assert "public keyset URL:    https://grader.example.edu/lti/jwks" in out
    assert '"public_jwk_url": "https://grader.example.edu/lti/jwks"' in out
    assert main(args) == 2 and "already registered" in capsys.readouterr().err
    assert main(["lti", "list"]) == 0
    assert "client_id=42\tdeployments=d1 d2" in capsys.readouterr().out
    with sessions() as session:
        pid = session.scalar(select(LtiPlatform.id))
    assert main(["lti", "remove", str(pid)]) == 0
    assert main(["lti", "remove", str(pid)]) == 2


def test_jwks_serves_the_public_half_of_the_tool_key(client):
    keys = client.get("/lti/jwks").json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"
    assert keys[0]["kid"] and "d" not in keys[0] and "p" not in keys[0]


def test_tool_key_made_once_when_first_used_at_once(sessions):
    """Six processes' first signatures at once (threads here, each its own session): one key,
    the same for all; a platform that cached our key set never meets a second one."""
    barrier = threading.Barrier(6)
    kids: list[str] = []

    def first_use() -> None:
        with sessions() as session:
            barrier.wait()
            kids.append(str(signing_key(session).kid))

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert kids == ["mlpgrade-1"] * 6
    with sessions() as session:
        assert session.scalars(select(LtiKey.kid)).all() == ["mlpgrade-1"]
        assert [k["kid"] for k in public_jwks(session)["keys"]] == ["mlpgrade-1"]
