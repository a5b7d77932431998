"""Fixtures of the LMS tests: a real LTI 1.3 platform (tests/lms/platform.py, over HTTP in a
thread) registered with the tool, and helpers that walk a launch through it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from submissions_api.deps import SESSION_COOKIE
from submissions_api.lms import registry
from submissions_api.store.models_lms import LtiIdentity
from tests.api.fixtures import *  # noqa: F403 - the shared service fixtures
from tests.lms.fixtures import *  # noqa: F403 - the AGS/NRPS test platform
from tests.lms.platform import TestPlatform, serve_platform

TOOL = "http://testserver"
"""The tool as TestClient serves it."""


def register(sessions, platform: TestPlatform, key_set_url: str = "") -> None:
    with sessions() as session:
        registry.add_platform(session, registry.PlatformFields(
            issuer=platform.issuer, client_id=platform.client_id,
            deployment_ids=(platform.deployment_id,),
            auth_login_url=f"{platform.url}/authorize", auth_token_url=f"{platform.url}/token",
            key_set_url=key_set_url or f"{platform.url}/jwks", name="Test LMS"))
        session.commit()


@pytest.fixture
def lms(sessions):
    """A platform registered with the tool (served by TestClient), with members
    alice-lms (Learner), prof-lms (Instructor), ta-lms (TA) and a link L1 to hw1p1-s20."""
    platform, served = serve_platform(TOOL)
    register(sessions, platform)
    platform.add_member("alice-lms", "student", name="Alice Liddell")
    platform.add_member("prof-lms", "instructor", name="Pat Prof")
    platform.add_member("ta-lms", "ta", name="Terry Assist")
    platform.add_link("L1", "HW1P1 (mlpgrade)", mlpgrade_assignment="hw1p1-s20")
    yield platform
    served.stop()


def authorize_url(client, platform: TestPlatform, login: str, link: str = "L1",
                  deep: bool = False) -> str:
    """The user clicks the link in the LMS: the platform sends the browser to our login, which
    sends it to the platform's authorization endpoint (returned, with state and nonce)."""
    start = httpx.get(platform.start_url(login, link, deep), follow_redirects=False)
    assert start.status_code == 302, start.text
    ours = client.get(start.headers["location"], follow_redirects=False)
    assert ours.status_code == 302, ours.text
    return ours.headers["location"]


def form_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))


def launch(client, platform: TestPlatform, login: str, link: str = "L1", deep: bool = False):
    """A whole launch as the platform makes it; the tool's answer."""
    auth = authorize_url(client, platform, login, link, deep)
    answer = httpx.get(auth)
    assert answer.status_code == 200, answer.text
    return client.post("/lti/launch", data=form_fields(answer.text), follow_redirects=False)


def forge_form(client, platform: TestPlatform, login: str, change=None, link: str = "L1",
               **mint) -> dict[str, str]:
    """The launch form with an id_token we sign ourselves (after a real login: real state and
    nonce, and the browser's cookies), with `change(claims)` applied; not posted."""
    query = parse_qs(urlparse(authorize_url(client, platform, login, link)).query)
    claims = platform.claims(login, link)
    claims["nonce"] = query["nonce"][0]
    if change:
        change(claims)
    return {"id_token": platform.mint(claims, **mint), "state": query["state"][0]}


def forged(client, platform: TestPlatform, login: str, change=None, link: str = "L1",
           **mint):
    """forge_form, posted: the tool's answer."""
    form = forge_form(client, platform, login, change, link, **mint)
    return client.post("/lti/launch", data=form, follow_redirects=False)


def assert_refused(answer, check: str, sessions, accounts: int = 0) -> None:
    """Refused with the page naming `check`; nobody signed in, no account made (beyond the
    `accounts` earlier launches made)."""
    assert answer.status_code == 403, answer.text
    assert f'data-check="{check}"' in answer.text, answer.text
    assert "Launch refused" in answer.text
    assert SESSION_COOKIE not in answer.cookies
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    with sessions() as session:
        assert session.query(LtiIdentity).count() == accounts
