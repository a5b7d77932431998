"""The test platform's fixtures: its services on a real port (tests/lms/platform_services.py),
the tool's JWKS served from the test's database on another, and an LMS course whose resource link
is bound to hw1p1-s20, with alice and bob known to the platform."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import pytest
from fastapi import FastAPI

from submissions_api.lms import advantage
from submissions_api.lms.keys import public_jwks
from submissions_api.store import crud
from submissions_api.store.models_lms import LtiContext, LtiIdentity, LtiPlatform, LtiResourceLink
from tests.lms.platform_services import PlatformState, Server, platform_app

PORTS = range(18320, 18340)
ISSUER = "https://lms.example.edu"
CONTEXT = "Course-C1"
LINK = "RL-Hw1"
SLUG = "hw1p1-s20"


def port() -> int:
    """A free port of this test suite's range."""
    for candidate in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return candidate
    raise RuntimeError("no free port in 18320-18339")


@dataclass
class Lms:
    state: PlatformState
    server: Server
    platform_pk: int
    context_pk: int
    link_pk: int
    lineitem_url: str


@pytest.fixture
def tool_jwks(sessions):
    """The tool's public keys (lms/keys.py, from the test's database) over HTTP."""
    def jwks() -> dict:
        with sessions() as session:
            return public_jwks(session)

    app = FastAPI()
    app.add_api_route("/jwks", jwks)
    server = Server(app, port()).start()
    yield f"{server.url}/jwks"
    server.stop()


@pytest.fixture
def platform(tool_jwks):
    """The platform's services, running; its state is the test's to read and set."""
    advantage._tokens.clear()  # a port is reused by later tests: their tokens are not these
    number = port()
    state = PlatformState(issuer=ISSUER, client_id="mlpgrade-tool",
                          base_url=f"http://127.0.0.1:{number}", tool_jwks_url=tool_jwks)
    server = Server(platform_app(state), number).start()
    yield state, server
    server.stop()


def make_course(sessions, state: PlatformState, *, given_lineitem: bool = True,
                logins: tuple[str, ...] = ("alice", "bob")) -> tuple[int, int, int, str]:
    """The platform registered, its course, a link bound to hw1p1-s20 (with the platform's line
    item, or none), and identities `sub-<login>` for `logins`, as launches make them."""
    lineitem = ""
    if given_lineitem:
        lineitem = f"{state.lineitems_url(CONTEXT)}/Given1"
        state.lineitems[lineitem] = {"id": lineitem, "scoreMaximum": 100, "label": "HW1",
                                     "resourceLinkId": LINK}
    with sessions() as session:
        platform = LtiPlatform(name="Test LMS", issuer=state.issuer, client_id=state.client_id,
                               auth_login_url=f"{state.base_url}/auth",
                               auth_token_url=state.token_url,
                               key_set_url=f"{state.base_url}/jwks")
        session.add(platform)
        session.flush()
        context = LtiContext(platform_id=platform.id, context_id=CONTEXT, title="Deep Learning",
                             lineitems_url=state.lineitems_url(CONTEXT),
                             memberships_url=state.memberships_url(CONTEXT))
        session.add(context)
        session.flush()
        link = LtiResourceLink(platform_id=platform.id, context_pk=context.id,
                               resource_link_id=LINK, title="HW1P1", lineitem_url=lineitem,
                               assignment_id=crud.get_assignment(session, slug=SLUG).id)
        session.add(link)
        for login in logins:
            user = crud.get_user_by_login(session, login=login)
            session.add(LtiIdentity(issuer=state.issuer, sub=f"sub-{login}", user_id=user.id))
        session.commit()
        return platform.id, context.id, link.id, lineitem


@pytest.fixture
def course(platform, sessions, users) -> Lms:
    """A course on the running platform, whose link has the platform's line item."""
    state, server = platform
    return Lms(state, server, *make_course(sessions, state))
