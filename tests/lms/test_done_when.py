"""Issue 24's "Done when", end to end: the real service (API, live and bulk workers, as
`mlpgrade serve` runs them) and one real LTI 1.3 platform over HTTP (tests/lms/platform.py with
its token, AGS and NRPS services), Chromium doing what people do.

An instructor registers the platform on /staff/lms → deep-links hw1p1-s20 from the platform's
picker (the platform makes the link's line item from our lineItem; the instructor's launch syncs
the roster) → a student launches the placed link, uploads the reference hand-in, and the platform
receives 95 on that line item → a TA's manual points move it to 100 → the platform is stopped, a
regrade runs and the TA's points change (98) → the platform is back and receives 98 exactly once.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from submissions_api.store.models import User
from submissions_api.store.models_grading import Submission
from submissions_api.store.models_lms import LtiContext, LtiResourceLink
from tests.api.services import wait_for
from tests.e2e.stack import embedded_env, start_stack
from tests.handins import make_handin_tar
from tests.lms.platform import serve_lms
from tests.pages.test_pages import GRADING, SLUG, sign_in, upload_in_browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory, service_home):
    """The API, a live and a bulk worker on the embedded stack (SQLite + kombu's sqla broker)."""
    tmp = tmp_path_factory.mktemp("lti")
    s = start_stack("lti", embedded_env(service_home, tmp), tmp)
    s.worker("live")
    s.worker("bulk")
    yield s
    s.stop()


@pytest.fixture
def lms_served(stack):
    platform, state, served = serve_lms(stack.url, f"{stack.url}/lti/jwks")
    platform.add_member("pat", "instructor", name="Pat Prof")
    platform.add_member("dana", "student", name="Dana Scully")
    state.members[platform.context_id] = [
        {"user_id": m.sub, "name": m.name, "email": m.email, "status": "Active",
         "roles": ["Instructor" if m.role == "instructor" else "Learner"]}
        for m in platform.members.values()]
    yield platform, state, served
    served.stop()


def page_of(browser, stack):
    context = browser.new_context(base_url=stack.url, viewport={"width": 1180, "height": 860})
    context.set_default_timeout(20_000)
    return context.new_page()


def register_on_page(page, stack, platform) -> None:
    sign_in(page, stack.tokens["prof"], then="/staff/lms")
    for field, value in {"name": "Test LMS", "issuer": platform.issuer,
                         "client_id": platform.client_id,
                         "deployment_ids": platform.deployment_id,
                         "auth_login_url": f"{platform.url}/authorize",
                         "auth_token_url": f"{platform.url}/token",
                         "key_set_url": f"{platform.url}/jwks"}.items():
        page.fill(f"#{field}", value)
    page.click("#add-platform button[type=submit]")
    expect(page.locator("#platforms")).to_contain_text(platform.issuer)


def synced(stack) -> str:
    with stack.sessions()() as session:
        return session.scalar(select(LtiContext.sync_note)) or ""


def test_done_when_register_deep_link_launch_grade_passback_outage(browser, stack, lms_served):
    platform, state, served = lms_served
    procs = tuple(stack.procs)
    register_on_page(page_of(browser, stack), stack, platform)

    prof = page_of(browser, stack)  # the LMS's "add content" picker
    prof.goto(platform.start_url("pat", deep=True))
    prof.click(f"#pick-{SLUG} button")
    expect(prof.locator("li.placed")).to_have_attribute("data-link", "DL1")
    [lineitem] = state.lineitems  # made by the platform from our deep-linking lineItem
    assert state.lineitems[lineitem]["resourceLinkId"] == "DL1"
    assert state.lineitems[lineitem]["scoreMaximum"] == 100  # automatic 95 + manual 5
    # the instructor's launch asked the bulk worker for the roster sync (NRPS)
    wait_for(lambda: "added" in synced(stack), 60, "the roster sync", 0.2, procs)

    student = page_of(browser, stack)
    student.goto(platform.start_url("dana", "DL1"))
    student.wait_for_url(f"{stack.url}/assignments/{SLUG}")
    upload_in_browser(student, make_handin_tar())
    expect(student.locator("#score")).to_contain_text("95", timeout=GRADING)
    with stack.sessions()() as session:
        sub = session.scalar(select(Submission.id).join(User).where(User.name == "Dana Scully"))
        link = session.scalar(select(LtiResourceLink).where(
            LtiResourceLink.resource_link_id == "DL1"))
        assert link.lineitem_url == lineitem and link.assignment_id is not None
    wait_for(lambda: state.scores_of(lineitem), 60, "95 at the platform", 0.2, procs)
    [first] = state.scores_of(lineitem)
    assert (first["userId"], first["scoreGiven"], first["scoreMaximum"],
            first["gradingProgress"]) == (platform.members["dana"].sub, 95.0, 100, "PendingManual")

    ta = page_of(browser, stack)
    give_points(ta, stack, sub, "5")
    wait_for(lambda: len(state.scores_of(lineitem)) == 2, 60, "100 at the platform", 0.2, procs)
    assert state.scores_of(lineitem)[1]["scoreGiven"] == 100.0

    served.stop()  # the LMS is down: a regrade runs, the TA's points change
    with stack.api("ta1") as api:
        assert api.post(f"/submissions/{sub}/regrade").status_code == 202
    # the regrade waits on the one bulk slot behind the hand-in's training run (at nice 10: on
    # a loaded machine that takes minutes)
    assert stack.wait_submission("ta1", sub, timeout=300)["score"] == 95
    give_points(ta, stack, sub, "3")
    served.start()  # the failed sends' backoff (from 0.5 s, doubling) decides when
    wait_for(lambda: len(state.scores_of(lineitem)) == 3, 120, "98 after the outage", 0.2, procs)
    time.sleep(3)  # several reaper passes: nothing more
    scores = state.scores_of(lineitem)
    assert [s["scoreGiven"] for s in scores] == [95.0, 100.0, 98.0]
    assert [s["timestamp"] for s in scores] == sorted(s["timestamp"] for s in scores)
    assert len(state.lineitems) == 1  # no line item made twice


def give_points(page, stack, sub: int, points: str) -> None:
    sign_in(page, stack.tokens["ta1"], then=f"/staff/submissions/{sub}")
    form = page.locator("#manual-form-training_statistics")
    form.locator("input[name=points]").fill(points)
    form.locator("button:has-text('Save points')").click()
    expect(page.locator("#manual .notice")).to_have_text("Saved.")
