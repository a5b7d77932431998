"""A launch that passes every check: the account (issuer + sub), its role, the course and link
stored, the landing page, the sign-in cookie (iframe-ready behind TLS)."""

from __future__ import annotations

from sqlalchemy import select

from submissions_api.deps import SESSION_COOKIE
from submissions_api.store.models_lms import LtiContext, LtiIdentity, LtiResourceLink
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
