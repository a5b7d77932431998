"""Launches in Chromium: a real browser follows the platform's redirects and auto-posted forms
into a running mlpgrade (uvicorn in a thread, on SQLite and on PostgreSQL), as it would from
the LMS: a student lands signed in on the assignment, an instructor deep-links an assignment
and the link placed then leads students to it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from submissions_api.main import create_app
from tests.lms.conftest import register
from tests.lms.platform import Served, build_app, self_signed, serve_platform
from tests.pages.test_polish import no_serious_violations

SHOTS = os.environ.get("MLPGRADE_LTI_SHOTS")
"""A folder to keep the docs' screenshots in (docs/lms.md)."""


@pytest.fixture
def lms_live(tool, sessions):
    platform, served = serve_platform(tool.url)
    register(sessions, platform)
    platform.add_member("alice-lms", "student", name="Alice Liddell")
    platform.add_member("bob-lms", "student", name="Bob Builder")
    platform.add_member("prof-lms", "instructor", name="Pat Prof")
    platform.add_link("L1", "HW1P1 (mlpgrade)", mlpgrade_assignment="hw1p1-s20")
    platform.add_link("L2", "Unconnected")  # placed by hand, without choosing an assignment
    yield platform
    served.stop()


def _keep(page, name: str, tmp_path: Path) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _page(chromium):
    context = chromium.new_context(viewport={"width": 1180, "height": 860})
    context.set_default_timeout(20_000)
    return context.new_page()


def test_browser_launch_student_then_instructor_deep_links(browser, tool, lms_live,
                                                           users, tmp_path):
    student = _page(browser)
    student.goto(lms_live.start_url("alice-lms", "L1"))
    student.wait_for_url(f"{tool.url}/assignments/hw1p1-s20")
    assert "student" in student.locator("#account-link").inner_text()

    prof = _page(browser)
    prof.goto(lms_live.start_url("prof-lms", deep=True))
    prof.wait_for_selector("#lti-deep-link")
    assert "instructor" in prof.locator("#account-link").inner_text()
    no_serious_violations(prof)
    _keep(prof, "lti-deep-link-picker", tmp_path)
    _hold_autopost(prof)
    prof.click("#pick-hw1p1-s20 button")
    prof.wait_for_selector("#lti-autopost")  # "Placing … in the course": held for axe-core
    no_serious_violations(prof)
    prof.evaluate("document.getElementById('autopost').submit()")
    prof.wait_for_selector("li.placed")
    assert prof.locator("li.placed").get_attribute("data-link") == "DL1"
    assert lms_live.content_items[0]["lineItem"]["scoreMaximum"] > 0

    newcomer = _page(browser)
    newcomer.goto(lms_live.start_url("bob-lms", "DL1"))
    newcomer.wait_for_url(f"{tool.url}/assignments/hw1p1-s20")
    assert "bob" in newcomer.locator("#account-link").inner_text()

    prof.goto(lms_live.start_url("prof-lms", "DL1"))  # staff land on the dashboard
    prof.wait_for_url(f"{tool.url}/staff/assignments/hw1p1-s20")
    _unconnected_link_and_refusal_pages(tool, lms_live, newcomer, prof)

    registration = _page(browser)
    registration.context.add_cookies([{"name": "mlpgrade_token", "value": users.tokens["prof"],
                                       "url": tool.url}])
    registration.goto(f"{tool.url}/staff/lms")
    assert lms_live.issuer in registration.locator("#platforms").inner_text()
    registration.click("#tool-urls details summary >> nth=0")
    no_serious_violations(registration)
    _keep(registration, "lti-registration", tmp_path)
    for page in (student, prof, newcomer, registration):
        page.context.close()


def _hold_autopost(page) -> None:
    """Serve the next deep-linking answer without its auto-submit, so the page can be checked
    before the test posts it on to the LMS."""
    def strip(route):
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace(
            'document.getElementById("autopost").submit();', ""))
    page.route("**/lti/deep-link", strip, times=1)


def _unconnected_link_and_refusal_pages(tool, lms_live, student, prof) -> None:
    """A link without an assignment: a student is told to wait, the instructor chooses one;
    a launch from an unknown platform is refused. All pass axe-core (issue 29)."""
    student.goto(lms_live.start_url("bob-lms", "L2"))
    student.wait_for_selector("#lti-pending")
    no_serious_violations(student)
    prof.goto(lms_live.start_url("prof-lms", "L2"))
    prof.wait_for_selector("#lti-bind")
    no_serious_violations(prof)
    student.goto(f"{tool.url}/lti/login?iss=https://unknown.example&login_hint=x"
                 f"&target_link_uri={tool.url}/lti/launch")
    assert student.locator("#failed-check").count() == 1
    no_serious_violations(student)


def test_browser_launch_in_cross_site_iframe_over_tls(browser, backend, dispatcher,
                                                      sessions, tmp_path):
    """The LMS (https://localhost) embeds the tool (https://127.0.0.1: another site) in an
    iframe: the login's state cookie and the sign-in cookie must be SameSite=None; Secure;
    Partitioned for the launch to work there (this Chromium blocks unpartitioned third-party
    cookies)."""
    cert = self_signed(tmp_path)
    tool = Served(create_app(backend, dispatcher), tls=cert)
    platform, served = serve_platform(tool.url, host="localhost", tls=cert)
    keys = Served(build_app(platform))  # its JWKS over plain HTTP too: httpx trusts no test CA
    try:
        register(sessions, platform, key_set_url=f"{keys.url}/jwks")
        platform.add_member("carol-lms", "student", name="Carol")
        platform.add_link("L1", "HW1P1", mlpgrade_assignment="hw1p1-s20")
        context = browser.new_context(ignore_https_errors=True)
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.goto(f"{platform.url}/course?user=carol-lms&link=L1")
        frame = page.frame_locator("#tool")
        assert "student" in frame.locator("#account-link").inner_text()
        assert page.frames[1].url == f"{tool.url}/assignments/hw1p1-s20"
        context.close()
    finally:
        for server in (keys, served, tool):
            server.stop()
