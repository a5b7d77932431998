"""NRPS roster sync against the test platform: 1,000 members over ten pages whose URLs are
case-sensitive; new members added, changed ones updated, those who left deactivated (never
deleted: their submissions stay); names from the LMS stored safely."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from submissions_api.lms import roster
from submissions_api.logins import is_login
from submissions_api.store import crud
from submissions_api.store.models import User, utcnow
from submissions_api.store.models_grading import Submission
from submissions_api.store.models_lms import LtiContext, LtiIdentity
from tests.lms.fixtures import CONTEXT, SLUG

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
TA = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
      "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"]
NASTY = ["O'Brien, Mary-Jane \"MJ\"", "\u202eevil\u202c Name\x07\x00", "محمد عبد الله",
         "=HYPERLINK(\"http://x\")", "Zoë\tÅström\n"]


def members(count: int = 1000) -> list[dict]:
    out = [{"user_id": f"u{n:04d}", "status": "Active", "roles": [LEARNER],
            "name": NASTY[n] if n < len(NASTY) else f"Student {n}",
            "email": f"student{n}@example.edu", "lis_person_sourcedid": f"S{n:05d}"}
           for n in range(count - 3)]
    out.append({"user_id": "sub-alice", "status": "Active", "roles": [LEARNER],
                "name": "Alice Renamed", "email": "alice@example.edu"})
    out.append({"user_id": "ta-x", "status": "Active", "roles": TA, "given_name": "Tom",
                "family_name": "Assistant"})
    out.append({"user_id": "gone-soon", "status": "Inactive", "roles": [LEARNER],
                "name": "Dropped Late"})
    return out


def test_sync_of_1000_members_over_pages(course, sessions):
    """alice is renamed, bob (who has a submission) is no longer listed: inactive, kept."""
    course.state.members[CONTEXT] = members()
    with sessions() as session:
        bob = crud.get_user_by_login(session, login="bob")
        crud.create_submission(session, user=bob,
                               assignment=crud.get_assignment(session, slug=SLUG), data=b"b",
                               filename="handin.tar", received_at=utcnow(), late=False,
                               penalty=0.0)
        session.commit()
    changes = roster.sync_context(sessions, course.context_pk)
    assert (changes["members"], changes["added"], changes["updated"],
            changes["deactivated"]) == (1000, 998, 1, 1)
    with sessions() as session:
        users = {i.sub: i.user for i in session.scalars(select(LtiIdentity))}
        assert len(users) == 1000
        assert users["sub-alice"].name == "Alice Renamed"
        assert users["sub-alice"].email == "alice@example.edu"
        bob = crud.get_user_by_login(session, login="bob")
        assert not bob.active  # left the course: kept, with the submission
        assert session.scalar(select(func.count()).select_from(Submission)
                              .where(Submission.user_id == bob.id)) == 1
        assert users["ta-x"].role == "ta" and users["ta-x"].name == "Tom Assistant"
        assert users["u0000"].login == "s00000" and users["u0000"].sis_user_id == "S00000"
        names = [users[f"u{n:04d}"].name for n in range(len(NASTY))]
        assert names == ["O'Brien, Mary-Jane \"MJ\"", "evil Name", "محمد عبد الله",
                         "=HYPERLINK(\"http://x\")", "Zoë Åström"]
        logins = [u.login for u in users.values()]
        assert len(set(logins)) == len(logins) and all(is_login(x) for x in logins)
        assert session.get(LtiContext, course.context_pk).synced_at is not None
    course.state.members[CONTEXT][0]["name"] = "Mary O'Brien"
    again = roster.sync_context(sessions, course.context_pk)
    assert (again["added"], again["updated"], again["deactivated"]) == (0, 1, 0)


def test_inactive_members_deactivated_and_back_when_listed(course, sessions):
    course.state.members[CONTEXT] = [
        {"user_id": "sub-alice", "status": "Inactive", "roles": [LEARNER], "name": "Alice"},
        {"user_id": "sub-bob", "status": "Active", "roles": [LEARNER], "name": "Bob"}]
    assert roster.sync_context(sessions, course.context_pk)["deactivated"] == 1
    course.state.members[CONTEXT][0]["status"] = "Active"
    assert roster.sync_context(sessions, course.context_pk)["reactivated"] == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(User)
                              .where(User.active.is_(False))) == 0


def test_pages_are_followed_with_their_case_kept(course):
    """The platform's next-page URLs are case-sensitive: a lower-cased one (pylti1p3's helper)
    is not found, so the sync follows them itself."""
    course.state.members[CONTEXT] = members(250)
    course.state.page_size = 100
    url = course.state.memberships_url(CONTEXT)
    assert httpx.get(url.lower()).status_code == 404


def test_sync_after_a_launch_at_most_hourly(course, sessions):
    with sessions() as session:
        context = session.get(LtiContext, course.context_pk)
        assert roster.sync_if_stale(session, context)
        session.commit()
        assert not roster.sync_if_stale(session, context)  # synced a moment ago



def test_a_roster_the_lms_refuses_is_a_note_for_staff(course, sessions):
    course.state.members.pop(CONTEXT, None)  # the LMS has no such course any more: 404
    with pytest.raises(roster.RosterError, match="did not give the roster.*404"):
        roster.sync_context(sessions, course.context_pk)
    with sessions() as session:
        assert session.get(LtiContext, course.context_pk).sync_note.startswith(
            "failed: the LMS did not give the roster")
