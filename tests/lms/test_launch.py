"""A launch that passes every check: the account (issuer + sub), its role, the course and link
stored, the landing page, the sign-in cookie (iframe-ready behind TLS); what it wires to grades
and rosters (the outbox moved on, the hourly roster sync asked after the commit)."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient
from sqlalchemy import select

from submissions_api.deps import SESSION_COOKIE
from submissions_api.main import create_app
from submissions_api.store.models import User
from submissions_api.store.models_lms import LtiContext, LtiIdentity, LtiResourceLink, ScoreOutbox
from tests.lms.conftest import launch


def test_launch_student_lands_on_assignment_signed_in(client, lms, sessions):
    answer = launch(client, lms, "alice-lms")
    assert answer.status_code == 303, answer.text
    assert answer.cookies.get(SESSION_COOKIE)
    page = client.get(answer.headers["location"])
    assert page.url.path == "/assignments/hw1p1-s20"
    assert "alice-lms" in page.text or "Alice" in page.text
    with sessions() as session:
        identity = session.scalar(select(LtiIdentity))
        member = lms.members["alice-lms"]
        assert (identity.issuer, identity.sub) == (lms.issuer, member.sub)
        user = identity.user
        assert (user.role, user.name, user.email) == ("student", "Alice Liddell",
                                                     member.email)
        link = session.scalar(select(LtiResourceLink))
        assert link.assignment.slug == "hw1p1-s20"
        assert link.lineitem_url.endswith("/lineitems/L1")
        context = session.scalar(select(LtiContext))
        assert context.context_id == lms.context_id
        assert context.memberships_url.endswith("/memberships")
        assert context.lineitems_url.endswith("/lineitems")


def _user(sessions, platform, login) -> User:
    with sessions() as session:
        identity = session.scalar(select(LtiIdentity).where(
            LtiIdentity.sub == platform.members[login].sub))
        session.expunge(identity.user)
        return identity.user


def test_launch_roles_from_the_lms(client, lms, sessions):
    lms.add_member("dev-lms", "designer")
    for login in ("prof-lms", "ta-lms", "dev-lms"):
        client.cookies.clear()
        answer = launch(client, lms, login)
        assert answer.status_code == 303, answer.text
        landing = client.get(answer.headers["location"])
        assert landing.url.path == "/staff/assignments/hw1p1-s20"  # staff land on the dashboard
    assert [_user(sessions, lms, n).role for n in ("prof-lms", "ta-lms", "dev-lms")] == [
        "instructor", "ta", "ta"]


def test_launch_relaunch_updates_name_email_role_same_account(client, lms, sessions):
    assert launch(client, lms, "alice-lms").status_code == 303
    first = _user(sessions, lms, "alice-lms")
    member = lms.members["alice-lms"]
    member.name, member.email, member.role = "Alice Pleasance", "ap@example.edu", "ta"
    client.cookies.clear()
    assert launch(client, lms, "alice-lms").status_code == 303
    again = _user(sessions, lms, "alice-lms")
    assert again.id == first.id and again.login == first.login
    assert (again.name, again.email, again.role) == ("Alice Pleasance", "ap@example.edu", "ta")


def test_launch_never_matches_an_account_by_email(client, lms, sessions):
    """bob exists (roster import) with the same e-mail: the launch makes its own account."""
    with sessions() as session:
        bob = session.scalar(select(User).where(User.login == "bob"))
        bob.email = "bob@example.edu"
        session.commit()
    lms.add_member("bob-lms", email="bob@example.edu", name="Bob")
    assert launch(client, lms, "bob-lms").status_code == 303
    made = _user(sessions, lms, "bob-lms")
    assert made.login != "bob" and made.login == "bob-2"  # the e-mail's local part, numbered


def test_launch_login_from_sourcedid_and_unsafe_names(client, lms, sessions):
    lms.add_member("x1", sourcedid="Jane.Doe@CMU", email="", name="Jane Doe")
    lms.add_member("x2", email="=HYPERLINK(evil)@example.edu", name="/ / ‮")
    for login in ("x1", "x2"):
        client.cookies.clear()
        assert launch(client, lms, login).status_code == 303
    assert _user(sessions, lms, "x1").login == "jane.doe"  # an address: its local part
    odd = _user(sessions, lms, "x2").login
    assert odd == "hyperlink-evil"


def test_launch_cookie_iframe_ready_behind_tls(backend, dispatcher, users, lms):
    """Behind a TLS-ending proxy the login's and the session's cookies are SameSite=None;
    Secure, so that the LMS's cross-site iframe gets them."""
    settings = dataclasses.replace(backend, trust_forwarded_proto=True)
    lms.tool_base = "https://testserver"
    with TestClient(create_app(settings, dispatcher), base_url="https://testserver",
                    headers={"X-Forwarded-Proto": "https"}) as tls:
        answer = launch(tls, lms, "alice-lms")
        assert answer.status_code == 303, answer.text
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(SESSION_COOKIE + "="))
    assert "SameSite=none" in session or "samesite=none" in session.lower()
    assert "Secure" in session and "Partitioned" in session
    state = [c for c in cookies if c.startswith("lti1p3-")]
    assert state and all("Partitioned" in c and "Max-Age=0" in c for c in state)  # spent
    assert "x-frame-options" not in {k.lower() for k in answer.headers}


def test_launch_cookie_lax_over_plain_http(client, lms):
    answer = launch(client, lms, "alice-lms")
    session = next(c for c in answer.headers.get_list("set-cookie")
                   if c.startswith(SESSION_COOKIE + "="))
    assert "samesite=lax" in session.lower() and "secure" not in session.lower()
    assert "partitioned" not in session.lower()


def test_launch_unbound_link_instructor_chooses_student_waits(client, lms, sessions):
    lms.add_link("L2", "Placed by hand")
    answer = launch(client, lms, "alice-lms", link="L2")
    page = client.get(answer.headers["location"])
    assert page.status_code == 200 and "Not set up yet" in page.text
    client.cookies.clear()
    answer = launch(client, lms, "prof-lms", link="L2")
    page = client.get(answer.headers["location"])
    assert "Which assignment is this link?" in page.text
    link_path = answer.headers["location"]
    bound = client.post(f"{link_path}/bind", data={"assignment": "hw1p1-s20"})
    assert bound.url.path == "/staff/assignments/hw1p1-s20"
    client.cookies.clear()
    answer = launch(client, lms, "alice-lms", link="L2")
    assert client.get(answer.headers["location"]).url.path == "/assignments/hw1p1-s20"


def test_launch_names_with_commas_quotes_rtl_and_control_characters(client, lms, sessions):
    lms.add_member("y1", name='O\'Brien, "Pat"\u202e\x00 \u05e9\u05dc\u05d5\u05dd\x1b')
    assert launch(client, lms, "y1").status_code == 303
    user = _user(sessions, lms, "y1")
    assert user.name == 'O\'Brien, "Pat" \u05e9\u05dc\u05d5\u05dd'  # Hebrew kept, controls gone
    assert user.login == "y1"  # the e-mail's local part


def test_launch_runs_post_launch_hook_for_instructors_only(client, lms, monkeypatch):
    from submissions_api.lms import launch as lti
    seen = []
    monkeypatch.setattr(lti, "after_instructor_launch",
                        lambda session, context: seen.append(context.context_id))
    assert launch(client, lms, "alice-lms").status_code == 303
    assert seen == []
    client.cookies.clear()
    assert launch(client, lms, "prof-lms").status_code == 303
    assert seen == [lms.context_id]


def test_launch_moves_the_outbox_and_asks_the_hourly_roster_sync(client, lms, sessions,
                                                                  monkeypatch):
    """The first launch binds the deep-linked link and makes alice's identity: her row of the
    outbox is pending (scores given before reach the LMS); an instructor's launch asks the
    bulk worker for the roster sync after the commit, once an hour however often they launch."""
    asked = []
    monkeypatch.setattr(client.app.state.dispatcher, "send_roster_sync",
                        lambda pk: asked.append(pk) or True)
    assert launch(client, lms, "alice-lms").status_code == 303
    with sessions() as session:
        row = session.scalar(select(ScoreOutbox))
        assert row.user_id == _user(sessions, lms, "alice-lms").id
        assert row.version > row.sent_version  # pending
    assert asked == []  # a student's launch syncs nothing
    for _ in range(2):
        client.cookies.clear()
        assert launch(client, lms, "prof-lms").status_code == 303
    with sessions() as session:
        context = session.scalar(select(LtiContext))
        assert asked == [context.id] and context.synced_at is not None


def test_launch_login_taken_meanwhile_is_derived_again(client, lms, sessions, monkeypatch):
    """Another transaction commits the login this launch derived (two first launches at once,
    or the roster sync): the launch derives another instead of failing."""
    from submissions_api.lms import accounts
    real, calls = accounts.derive_login, []

    def racing(claims, **kw):
        calls.append(1)
        return "bob" if len(calls) == 1 else real(claims, **kw)  # bob: committed meanwhile

    monkeypatch.setattr(accounts, "derive_login", racing)
    assert launch(client, lms, "alice-lms").status_code == 303
    assert len(calls) == 2 and _user(sessions, lms, "alice-lms").login == "alice-lms"
