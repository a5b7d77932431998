"""Issue 29 in a real browser (items 4, 5 and 8): the handout download and a student's own
diff, deadlines in the course's time zone (America/New_York here, read from Berlin),
consistent extensions, styled error pages, Authorize in /docs, /metrics for a signed-in TA,
staff pages at 375 px, and axe-core's WCAG A/AA rules on every page (no serious or critical
violation). Screenshots named guide-* illustrate the guides in docs/."""

from __future__ import annotations

import re
import sys
import tarfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.api.services import unavailable
from tests.e2e.stack import embedded_env, start_stack
from tests.handins import make_handin_tar
from tests.pages.conftest import pages_on
from tests.pages.test_pages import GRADING, SLUG, add_student, api_upload, sign_in

ZONE, READER = "America/New_York", "Europe/Berlin"
AXE = Path(sys.prefix) / "share" / "axe-core" / "axe.min.js"  # scripts/install.sh --test
AXE_RUN = """async () => (await axe.run(document, {runOnly: {type: "tag",
    values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})).violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => v.id + " (" + v.impact + "): " + v.nodes.slice(0, 3)
        .map(n => n.target.join(" ") + " " + n.failureSummary).join(" | "))"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory, service_home):
    """The API and a worker whose course lives in New York."""
    tmp = tmp_path_factory.mktemp("polish")
    s = start_stack("polish", embedded_env(service_home, tmp, MLPGRADE_TIMEZONE=ZONE), tmp)
    s.worker()
    yield s
    s.stop()


@pytest.fixture
def page_at(browser, stack):
    """page_at(width=1280) → a page read from Berlin, in a fresh context."""
    with pages_on(browser, stack.url, timezone_id=READER, accept_downloads=True) as make:
        yield lambda width=1280: make(viewport={"width": width, "height": 900})


def no_serious_violations(page) -> None:
    if not AXE.is_file():
        unavailable("axe-core", FileNotFoundError(AXE))
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(AXE_RUN)
    assert found == [], f"{page.url}: " + "\n".join(found)


def test_student_downloads_the_handout_and_compares_attempts(stack, page_at, shot, tmp_path):
    add_student(stack, "stu_diff")
    first = api_upload(stack, "stu_diff", make_handin_tar())
    stack.wait_submission("stu_diff", first, timeout=GRADING / 1000)
    second = api_upload(stack, "stu_diff", make_handin_tar(bugs=("linear_dw_transposed",)))
    stack.wait_submission("stu_diff", second, timeout=GRADING / 1000)
    page = page_at()
    sign_in(page, stack.tokens["stu_diff"], then=f"/assignments/{SLUG}")
    with page.expect_download() as download:
        page.click("#handout")
    saved = tmp_path / "handout.tar"
    download.value.save_as(saved)
    with tarfile.open(saved) as tar:
        names = set(tar.getnames())
    assert {f"{SLUG}-handout/create_tarball.sh", f"{SLUG}-handout/mytorch/linear.py"} <= names
    no_serious_violations(page)
    shot(page, "guide-student-assignment", keep=True)
    # the form compares the previous submission with the latest by default
    page.click("#compare button")
    expect(page.locator("h1")).to_have_text("Submission #1 → #2")
    changed = page.locator("details.source-file", has_text="mytorch/linear.py")
    expect(changed.locator(".badge")).to_have_text("changed")
    expect(changed.locator("pre.udiff .add").first).to_be_visible()
    expect(page.locator("details.source-file", has_text="hw1/hw1.py").locator(".badge")
           ).to_have_text("unchanged")
    no_serious_violations(page)
    shot(page, "guide-student-compare", keep=True)
    page.goto(f"/submissions/{second}")
    expect(page.locator("#score")).to_be_visible()
    expect(page.locator("#compare-previous")).to_have_attribute(
        "href", f"/assignments/{SLUG}/compare?before={first}&after={second}")
    no_serious_violations(page)
    shot(page, "guide-student-feedback", keep=True)


def test_deadlines_in_the_course_zone_and_extensions_everywhere(stack, page_at, shot):
    page = page_at()
    sign_in(page, stack.tokens["prof"], then=f"/staff/assignments/{SLUG}/settings")
    expect(page.locator("label[for=deadline]")).to_have_text(f"Deadline ({ZONE})")
    page.fill("#deadline", "2026-12-07T23:59")
    # typed in New York: the UTC and the reader's own (Berlin) time echo at once
    echo = page.locator("#deadline-echo")
    expect(echo).to_contain_text("= 2026-12-08 04:59 UTC")
    expect(echo).to_contain_text("5:59")
    expect(echo).to_contain_text("your time")
    page.fill("#late_deadline", "2026-12-09T23:59")
    no_serious_violations(page)
    shot(page, "guide-instructor-settings", keep=True)
    # a refusal names the times as they were typed, in the course's zone
    page.fill("#late_deadline", "2026-12-06T23:59")
    page.click("#settings button[type=submit]")
    expect(page.locator(".alert")).to_contain_text(
        "The late deadline (2026-12-06 23:59 EST (2026-12-07 04:59 UTC)) must come after the "
        "deadline (2026-12-07 23:59 EST (2026-12-08 04:59 UTC))")
    page.fill("#late_deadline", "2026-12-09T23:59")
    page.click("#settings button[type=submit]")
    expect(page.locator(".notice")).to_have_text("Saved.")
    expect(page.locator("#deadline")).to_have_value("2026-12-07T23:59")
    # an extension without its own late deadline keeps the grace period (two days)
    page.goto(f"/staff/assignments/{SLUG}/extensions")
    page.fill("#login", "alice")
    page.fill("#deadline", "2026-12-10T23:59")
    page.fill("#reason", "medical, documented")
    page.click("#extension-form button[type=submit]")
    row = page.locator("#extension-alice")
    expect(row).to_contain_text("2026-12-10 23:59:00 EST")
    expect(row).to_contain_text("2026-12-12 23:59:00 EST")
    expect(row).to_contain_text("(the assignment's grace period)")
    expect(row).to_contain_text("2026-12-13 04:59 UTC")
    no_serious_violations(page)
    shot(page, "guide-ta-extensions", keep=True)
    student = page_at()
    sign_in(student, stack.tokens["alice"])
    card = student.locator("section.card", has_text=SLUG)
    expect(card).to_contain_text("due 2026-12-10 23:59:00 EST")
    expect(card.locator(".badge.extended")).to_have_text("extended")
    expect(card.locator(".local-time")).to_contain_text("your time")
    no_serious_violations(student)
    shot(student, "guide-student-home", keep=True)
    student.goto(f"/assignments/{SLUG}")
    expect(student.locator("#extended")).to_have_text("extended for you")
    expect(student.locator(".facts")).to_contain_text("2026-12-12 23:59:00 EST")


def test_staff_pages_fit_a_phone_and_pass_axe(stack, page_at, shot):
    add_student(stack, "stu_phone")
    sub = api_upload(stack, "stu_phone", make_handin_tar(bugs=("linear_dw_transposed",)))
    stack.wait_submission("stu_phone", sub, timeout=GRADING / 1000)
    phone = page_at(375)
    sign_in(phone, stack.tokens["ta1"], then=f"/staff/assignments/{SLUG}")
    shots = {f"/staff/assignments/{SLUG}": "guide-ta-dashboard-phone",
             f"/staff/submissions/{sub}": "guide-ta-submission-phone"}
    for path in (*shots, "/staff/queue", f"/staff/assignments/{SLUG}/extensions",
                 f"/staff/assignments/{SLUG}/golden", "/staff/students/stu_phone"):
        phone.goto(path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} scrolls sideways: {width} px"
        if path in shots:
            shot(phone, shots[path], keep=True)
    page = page_at()
    sign_in(page, stack.tokens["prof"], then=f"/staff/assignments/{SLUG}")
    for path in ("/", f"/staff/assignments/{SLUG}", f"/staff/submissions/{sub}",
                 f"/staff/assignments/{SLUG}/golden", f"/staff/assignments/{SLUG}/settings",
                 f"/staff/assignments/{SLUG}/extensions", "/staff/queue", "/staff/users",
                 "/staff/students/stu_phone", f"/staff/assignments/{SLUG}/similarity",
                 f"/staff/assignments/{SLUG}/tests/linear_layer_backward", "/account",
                 f"/submissions/{sub}"):
        page.goto(path)
        no_serious_violations(page)
        if path == f"/staff/assignments/{SLUG}":
            shot(page, "guide-ta-dashboard", keep=True)
        if path == f"/staff/submissions/{sub}":
            shot(page, "guide-ta-submission", keep=True)
        if path == f"/staff/assignments/{SLUG}/golden":
            shot(page, "guide-instructor-golden", keep=True)
        if path == "/staff/queue":
            shot(page, "guide-operator-queue", keep=True)
    page.goto(f"/staff/submissions/{sub}")
    page.locator(f"form[action='/staff/submissions/{sub}/regrade'] button").click()
    expect(page).to_have_url(re.compile(r"/staff/regrades/\d+$"))
    no_serious_violations(page)


def test_error_pages_docs_and_metrics(stack, page_at, shot):
    page = page_at()
    page.goto("/login")
    no_serious_violations(page)
    icon = page.request.get("/favicon.ico")
    assert icon.ok and icon.headers["content-type"] == "image/svg+xml"
    reply = page.goto("/submissions")  # a natural URL to try, and not a page
    assert reply.status == 404
    expect(page).to_have_title("Not found · mlpgrade")
    expect(page.locator("#error-message")).to_contain_text("There is no page at this address")
    no_serious_violations(page)
    shot(page, "error-404")
    sign_in(page, stack.tokens["bob"])
    assert page.goto(f"/staff/assignments/{SLUG}").status == 403
    expect(page.locator("h1")).to_have_text("Not allowed")
    no_serious_violations(page)
    shot(page, "error-403")
    # /docs: Authorize with a token, then "Try it out" answers 200
    page.goto("/docs")
    page.click("button.authorize")
    page.fill(".auth-container input", stack.tokens["bob"])
    page.click(".auth-btn-wrapper button.authorize")
    page.click("button.btn-done")
    operation = page.locator(".opblock", has_text="/api/v1/assignments").first
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status").first
           ).to_have_text("200")
    shot(page, "docs-authorized")
    # a signed-in TA opens /metrics in the browser
    ta = page_at()
    sign_in(ta, stack.tokens["ta1"], then="/metrics")
    expect(ta.locator("body")).to_contain_text("mlpgrade_queue_depth")
    assert re.search(r"mlpgrade_graded_last_minute", ta.content())


def test_a_submission_in_progress_passes_axe(stack, page_at, shot):
    """The page a student watches while their upload waits or is graded (the live status line
    and its Pause button), then the training run's notice: no serious violation either. Last
    in the module: the training runs it starts would slow the other tests' gradings."""
    ahead = []
    for login in ("stu_ahead1", "stu_ahead2", "stu_live"):  # two ahead: ours waits a while
        add_student(stack, login)
        ahead.append(api_upload(stack, login, make_handin_tar()))
    sub = ahead.pop()
    page = page_at()
    sign_in(page, stack.tokens["stu_live"], then=f"/submissions/{sub}")
    expect(page.locator("#live-line")).to_contain_text(re.compile(r"Queued|Position|graded"))
    no_serious_violations(page)
    shot(page, "student-live")
    # graded: the page reloads itself, to the training run's notice or (done) the curves
    stack.wait_submission("stu_live", sub, timeout=300)
    expect(page.locator("#training-pending, #plots").first).to_be_visible(timeout=30_000)
    no_serious_violations(page)
