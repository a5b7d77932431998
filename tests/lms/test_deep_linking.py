"""Deep linking: an instructor's LtiDeepLinkingRequest shows our picker; the choice goes back
signed with the tool key, the platform (lti1p3platform) verifies it against our JWKS and places
the link; launching that link then lands on the chosen assignment."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from submissions_api.grades import total_max_score
from submissions_api.store.models import Assignment
from tests.lms.conftest import TOOL, form_fields, launch


def _action(page: str) -> str:
    """Where our auto-posting form sends the browser back to."""
    return re.search(r'action="([^"]+)" id="autopost"', page).group(1)


def _picker(client, lms):
    answer = launch(client, lms, "prof-lms", deep=True)
    assert answer.status_code == 200, answer.text
    assert "Add an mlpgrade assignment to the course" in answer.text
    return form_fields(answer.text)["sealed"]


def test_deep_link_places_assignment_and_its_launch_lands_on_it(client, lms, sessions):
    lms.tool_jwks = client.get("/lti/jwks").json()  # the platform cannot reach TestClient
    sealed = _picker(client, lms)
    back = client.post("/lti/deep-link", data={"sealed": sealed, "assignment": "hw1p1-s20"})
    assert back.status_code == 200, back.text
    action = _action(back.text)
    assert action == f"{lms.url}/deep-link-return"
    placed = httpx.post(action, data=form_fields(back.text))
    assert placed.status_code == 200, placed.text
    item = lms.content_items[0]
    with sessions() as session:
        assignment = session.scalar(select(Assignment).where(Assignment.slug == "hw1p1-s20"))
    assert item["type"] == "ltiResourceLink" and item["url"] == f"{TOOL}/lti/launch"
    assert item["custom"] == {"mlpgrade_assignment": "hw1p1-s20"}
    # out of automatic and manual points, as the scores sent are; tagged as the sender's
    assert item["lineItem"]["scoreMaximum"] == total_max_score(assignment) > assignment.max_score
    assert item["lineItem"]["tag"] == "mlpgrade:hw1p1-s20"
    client.cookies.clear()
    answer = launch(client, lms, "alice-lms", link="DL1")
    assert client.get(answer.headers["location"]).url.path == "/assignments/hw1p1-s20"


def test_deep_link_response_refused_by_platform_when_not_signed_by_tool_key(client, lms):
    from tests.lms.platform import Registration, new_private_key
    lms.tool_jwks = {"keys": [Registration.get_jwk(new_private_key())]}  # not our key
    sealed = _picker(client, lms)
    back = client.post("/lti/deep-link", data={"sealed": sealed, "assignment": "hw1p1-s20"})
    placed = httpx.post(_action(back.text), data=form_fields(back.text))
    assert placed.status_code == 400 and not lms.content_items


def test_deep_link_student_refused_and_altered_picker_refused(client, lms):
    lms.add_member("bob-lms", "student")
    answer = launch(client, lms, "bob-lms", deep=True)
    assert answer.status_code == 403 and "instructor" in answer.text
    client.cookies.clear()
    sealed = _picker(client, lms)
    altered = client.post("/lti/deep-link", data={"sealed": sealed[:-4] + "AAAA",
                                                  "assignment": "hw1p1-s20"})
    assert altered.status_code == 422 and "altered" in altered.text
