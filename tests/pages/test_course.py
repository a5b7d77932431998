"""Issue 13 in a real browser: sign-in on a named host over plain HTTP, the API docs offline,
impossible deadlines refused on the page, one score presentation, the live line's progress, and
why a training run drew no curves."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.handins import make_handin_tar
from tests.pages.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.pages.test_pages import GRADING, SLUG, add_student, sign_in, upload_in_browser

HOST = "course.test"


@pytest.fixture(scope="module")
def named_host(stack):
    """Chromium resolving course.test to the stack: a host name that is not localhost, where a
    browser drops a Secure cookie that came over plain HTTP."""
    port = urlparse(stack.url).port
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            *CHROMIUM_ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"])
        context = b.new_context(base_url=f"http://{HOST}:{port}")
        context.set_default_timeout(20_000)
        yield context
        context.close()
        b.close()


def test_course_sign_in_over_plain_http_on_a_named_host(stack, named_host, shot):
    page = named_host.new_page()
    sign_in(page, stack.tokens["alice"])
    expect(page.locator("h1")).to_have_text("Assignments")
    [cookie] = named_host.cookies()
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, False, "Lax")
    named_host.clear_cookies()


def test_course_sign_in_says_when_the_browser_kept_no_cookie(stack, new_page, shot):
    page = new_page()

    def drop_cookie(route):  # a browser that refuses the cookie (blocked, or Secure over http)
        reply = route.fetch(max_redirects=0)
        headers = {k: v for k, v in reply.headers.items() if k.lower() != "set-cookie"}
        route.fulfill(response=reply, headers=headers)

    page.route("**/login", lambda route: drop_cookie(route) if route.request.method == "POST"
               else route.continue_())
    sign_in(page, stack.tokens["alice"])
    expect(page.locator(".alert")).to_contain_text("did not keep the sign-in cookie")
    shot(page, "sign-in-no-cookie")


def test_course_api_docs_render_with_no_network(stack, new_page, shot):
    page = new_page()
    outside = []

    def only_the_service(route):
        if route.request.url.startswith(stack.url):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    page.context.route("**/*", only_the_service)
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("mlpgrade")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    shot(page, "api-docs")
    page.goto("/redoc")
    expect(page.locator("h1", has_text="mlpgrade")).to_be_visible()
    assert outside == []


def test_course_settings_refuse_a_late_deadline_before_the_deadline(stack, new_page, shot):
    page = new_page()
    sign_in(page, stack.tokens["prof"], then=f"/staff/assignments/{SLUG}/settings")
    page.fill("#deadline", "2031-05-03T23:59")
    page.fill("#late_deadline", "2031-05-01T23:59")
    page.click("button:has-text('Save settings')")
    expect(page.locator(".alert")).to_contain_text(
        "The late deadline (2031-05-01 23:59 UTC) must come after the deadline "
        "(2031-05-03 23:59 UTC)")
    expect(page.locator("#late_deadline")).to_have_value("2031-05-01T23:59")  # kept to fix
    shot(page, "settings-refused")
    page.fill("#deadline", "")
    page.click("button:has-text('Save settings')")
    expect(page.locator(".alert")).to_contain_text("A late deadline needs a deadline")
    with stack.api("prof") as prof:
        assert prof.get(f"/assignments/{SLUG}").json()["deadline"] is None  # nothing saved


def test_course_live_line_shows_elapsed_time_and_the_running_test(stack, new_page, shot):
    page = new_page()
    sign_in(page, add_student(stack, "stu_live"))
    # one slow multiple-choice answer (4 s) keeps the grading on a test long enough to see it
    upload_in_browser(page, make_handin_tar(
        edits={"hw1/mc.py": ("return 'b'", "return __import__('time').sleep(4) or 'b'")}))
    expect(page.locator("#receipt")).to_be_visible()
    page.evaluate("""() => { window.lines = [];
        const line = document.getElementById('live-line');
        if (line) new MutationObserver(() => window.lines.push(line.textContent))
            .observe(line, {childList: true, characterData: true, subtree: true}); }""")
    expect(page.locator("#live-line")).to_contain_text("running test", timeout=GRADING)
    text = page.locator("#live-line").inner_text()
    assert text.startswith("Being graded: ") and " s so far" in text and " of 25: " in text
    shot(page, "student-live-progress")
    expect(page.locator("#score")).to_contain_text("automatic 95/95", timeout=GRADING)


def test_course_one_score_presentation_on_every_page(stack, new_page):
    add_student(stack, "stu_one")
    with stack.api("stu_one") as client:
        sub_id = client.post(f"/assignments/{SLUG}/submissions",
                             files={"file": ("handin.tar", make_handin_tar())}).json()["id"]
    stack.wait_submission("stu_one", sub_id)
    text = "automatic 95/95 + manual —/5 = 95/100 (manual points awaiting a TA)"
    with stack.api("stu_one") as client:
        assert client.get(f"/submissions/{sub_id}").json()["score_text"] == text
    student = new_page()
    sign_in(student, stack.tokens["stu_one"], then=f"/submissions/{sub_id}")
    expect(student.locator("#score")).to_have_text(text)
    student.goto(f"/assignments/{SLUG}")
    expect(student.locator("table.list tbody tr").first.locator(".js-score")).to_have_text(text)
    ta = new_page()
    sign_in(ta, stack.tokens["ta1"], then=f"/staff/submissions/{sub_id}")
    expect(ta.locator("#score")).to_have_text(text)
    ta.goto(f"/staff/assignments/{SLUG}")
    row = ta.locator("#students-table tr", has_text="stu_one")
    expect(row).to_contain_text(text)


def test_course_training_panel_says_why_there_are_no_curves(stack, new_page, shot):
    page = new_page()
    sign_in(page, add_student(stack, "stu_notrain"))
    upload_in_browser(page, make_handin_tar(edits={"hw1/hw1.py": (
        "    train, val, _ = dset\n", "    raise RuntimeError('not written yet')\n")}))
    notes = page.locator("#training-notes")
    expect(notes).to_contain_text("get_training_stats did not complete", timeout=GRADING)
    expect(notes).to_contain_text("RuntimeError: not written yet")
    expect(notes).to_contain_text("Only the reference's curves are drawn")
    shot(page, "student-training-notes")
