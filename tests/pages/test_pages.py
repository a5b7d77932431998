"""The pages in a real browser: students upload and read feedback, TAs watch the class, and
nobody sees what is not theirs."""

from __future__ import annotations

import base64
import hashlib
import re

from playwright.sync_api import expect

from tests.handins import make_handin_tar

SLUG = "hw1p1-s20"
PENDING_95 = "automatic 95/95 + manual —/5 = 95/100 (manual points awaiting a TA)"
GRADING = 120_000  # ms: one grading on the embedded stack takes a few seconds


def sign_in(page, token: str, then: str = "/"):
    page.goto(f"/login?next={then}")
    page.fill("#token", token)
    page.click("button[type=submit]")


def add_student(stack, login: str) -> str:
    with stack.api("prof") as prof:
        reply = prof.post("/users", json={"login": login, "name": login.title()})
    assert reply.status_code == 201, reply.text
    stack.tokens[login] = reply.json()["token"]
    return stack.tokens[login]


def api_upload(stack, login: str, data: bytes) -> int:
    with stack.api(login) as client:
        reply = client.post(f"/assignments/{SLUG}/submissions",
                            files={"file": ("handin.tar", data)})
    assert reply.status_code == 202, reply.text
    return reply.json()["id"]


def upload_in_browser(page, data: bytes) -> None:
    page.goto(f"/assignments/{SLUG}")
    page.set_input_files("#file", files=[{"name": "handin.tar", "mimeType": "application/x-tar",
                                          "buffer": data}])
    expect(page.locator("#file-name")).to_have_text("handin.tar")
    page.click("#submit")


def drop_in_browser(page, data: bytes) -> None:
    """Drag-and-drop: a `drop` event carrying handin.tar on the drop zone, then submit."""
    page.goto(f"/assignments/{SLUG}")
    page.evaluate("""b64 => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "handin.tar", {type: "application/x-tar"}));
        const zone = document.getElementById("dropzone");
        zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true}));
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
    }""", base64.b64encode(data).decode())
    expect(page.locator("#file-name")).to_have_text("handin.tar")
    page.click("#submit")


def test_pages_student_uploads_reference_and_watches_full_marks(stack, new_page, shot):
    page = new_page()
    sign_in(page, add_student(stack, "stu_ref"))
    expect(page.locator("h1")).to_have_text("Assignments")
    data = make_handin_tar()
    upload_in_browser(page, data)
    receipt = page.locator("#receipt")
    expect(receipt).to_contain_text("Received")
    expect(receipt).to_contain_text(hashlib.sha256(data).hexdigest())
    expect(receipt).to_contain_text("UTC")
    shot(page, "student-receipt")
    # the status line polls, then the page reloads itself with the result
    expect(page.locator("#score")).to_have_text(PENDING_95, timeout=GRADING)
    rows = page.locator("table.course tbody tr")
    expect(rows).to_have_count(25)
    expect(page.locator("table.course tr.fail")).to_have_count(0)
    expect(page.locator("table.course tfoot")).to_contain_text("95/95")
    expect(page.get_by_text("Every test passed.")).to_be_visible()
    expect(page.locator("tr.manual")).to_contain_text("awaiting TA")
    # the training run follows; the same page reloads itself once its curves are drawn
    expect(page.locator("#plots img")).to_have_count(4, timeout=GRADING)
    expect(page.locator("#training-pending")).to_have_count(0)
    expect(page.locator("#score")).to_have_text(PENDING_95)
    shot(page, "student-result", keep=True)
    page.goto(f"/assignments/{SLUG}")
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    expect(page.locator("table.list tbody")).to_contain_text("graded")


def test_pages_buggy_handin_shows_feedback(stack, new_page, shot):
    page = new_page()
    sign_in(page, add_student(stack, "stu_bug"))
    drop_in_browser(page, make_handin_tar(
        bugs=("linear_dw_transposed",),
        edits={"hw1/mc.py": ("return 'b'", "return 1 / 0")}))
    expect(page.locator("#score")).to_be_visible(timeout=GRADING)
    score = float(page.locator("#score").inner_text().split()[1].split("/")[0])
    assert 0 < score < 95
    shape = page.locator("#test-linear_layer_backward")
    expect(shape).to_contain_text("has shape")
    expect(shape).to_contain_text("expected")
    raised = page.locator("section.feedback", has_text="ZeroDivisionError")
    expect(raised).to_contain_text("Traceback (your files)")
    expect(raised).to_contain_text("mc.py")
    assert page.locator("table.course tr.fail").count() >= 2
    # the failed test's name links to its feedback
    page.locator("table.course tr.fail a").first.click()
    assert re.search(r"#test-", page.url)
    shot(page, "student-feedback")


def test_pages_ta_sees_histogram_and_pass_rates_update(stack, new_page, shot):
    page = new_page()
    sign_in(page, stack.tokens["ta1"], then=f"/staff/assignments/{SLUG}")
    expect(page.locator("#histogram svg")).to_be_visible()
    before = int(page.locator("#histogram svg").get_attribute("data-total"))
    graded_before = int(page.locator("#graded-students").inner_text())

    add_student(stack, "stu_mc")
    sub_id = api_upload(stack, "stu_mc", make_handin_tar(bugs=("mc_wrong_answer",)))
    done = stack.wait_submission("stu_mc", sub_id)
    assert done["status"] == "graded" and done["score"] < 95

    page.reload()
    expect(page.locator("#histogram svg")).to_have_attribute("data-total", str(before + 1))
    expect(page.locator("#graded-students")).to_have_text(str(graded_before + 1))
    bar_total = sum(int(c) for c in page.locator("#histogram rect.bar").evaluate_all(
        "bars => bars.map(b => b.dataset.count)"))
    assert bar_total == before + 1
    rates = page.locator("#pass-rates svg")
    expect(rates).to_contain_text("Multiple Choice")
    mc_rate = page.locator("#pass-rates text.label", has_text="Multiple Choice")
    expect(mc_rate).to_have_count(1)
    assert not rates.locator("text.pct").all_inner_texts() == ["100%"] * 25
    expect(page.locator("#failures")).to_contain_text("not the right answer")
    students = page.locator("#students-table")
    expect(students).to_contain_text("stu_mc")
    page.fill("#student-q", "stu_mc")
    page.press("#student-q", "Enter")
    expect(students.locator("tbody tr")).to_have_count(1)
    page.click("#table-conditions a:has-text('Show all')")
    page.click("#students-table th a:has-text('Best')")
    shot(page, "ta-dashboard", keep=True)
    with page.expect_download() as download:
        page.click("text=Gradebook CSV")
    assert "stu_mc" in open(download.value.path()).read()


def test_pages_ta_submission_sources_runs_and_regrade(stack, new_page, shot):
    add_student(stack, "stu_rg")
    sub_id = api_upload(stack, "stu_rg", make_handin_tar())
    stack.wait_submission("stu_rg", sub_id)
    page = new_page()
    sign_in(page, stack.tokens["ta1"], then=f"/staff/submissions/{sub_id}")
    expect(page.locator("#sources")).to_contain_text("mytorch/linear.py")
    expect(page.locator("#sources")).to_contain_text("hw1/hw1.py")
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    # the training run follows on the bulk queue: the page updates itself when it is done,
    # showing the four plots and the advisory checks; then manual points for the statistics
    plots = page.locator("#manual .plots img")
    expect(plots).to_have_count(4, timeout=GRADING)
    expect(page.locator("#training-checks li")).not_to_have_count(0)
    expect(page.locator("#training-checks")).not_to_contain_text("✗")
    for img in plots.all():
        img.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=img.element_handle())
    form = page.locator("form.manual-form").first
    form.locator("input[name=points]").fill("4")
    form.locator("input[name=comment]").fill("Loss curves match; accuracy a bit low.")
    form.locator("button:has-text('Save points')").click()
    expect(page.locator("#manual .notice")).to_have_text("Saved.")
    expect(page.locator("form.manual-form").first).to_contain_text("4/5 given")
    shot(page, "ta-submission")
    student = new_page()
    sign_in(student, stack.tokens["stu_rg"], then=f"/submissions/{sub_id}")
    expect(student.locator("#score")).to_have_text("automatic 95/95 + manual 4/5 = 99/100")
    expect(student.locator("tr.manual")).to_contain_text("4/5")
    expect(student.get_by_text("Loss curves match; accuracy a bit low.")).to_be_visible()
    page.click("button:has-text('Regrade')")
    expect(page.locator("#progress")).to_be_visible()
    expect(page.locator("#finished")).to_be_visible(timeout=GRADING)
    expect(page.locator("#progress")).to_contain_text("1 done")
    shot(page, "regrade")
    page.click(f"#diff a:has-text('{sub_id}')")
    expect(page.locator("#runs tbody tr")).to_have_count(2)
    expect(page.locator("#runs")).to_contain_text("No test changed.")
    expect(page.locator("form.manual-form").first).to_contain_text("4/5 given")  # kept


def test_pages_student_cannot_open_staff_pages_or_others_submission(stack, new_page, shot):
    add_student(stack, "stu_a")
    add_student(stack, "stu_b")
    other = api_upload(stack, "stu_b", make_handin_tar())
    page = new_page()
    sign_in(page, stack.tokens["stu_a"])
    for path in (f"/staff/assignments/{SLUG}", f"/submissions/{other}",
                 f"/staff/submissions/{other}", f"/staff/assignments/{SLUG}/settings"):
        reply = page.goto(path)
        assert reply.status == 403, path
        expect(page.locator("h1")).to_have_text("Not allowed")
        expect(page.locator(".error-page")).to_contain_text("403")
    shot(page, "forbidden")
    for query in ("", "?seen=queued/None"):  # refused before any wait for a change
        reply = page.goto(f"/submissions/{other}/status.json{query}")
        assert reply.status == 403
    # a form posted from another site is refused even with the cookie (SameSite=Lax aside)
    reply = page.request.post(f"/assignments/{SLUG}/upload", headers={
        "Origin": "https://evil.example"}, multipart={"file": {
            "name": "handin.tar", "mimeType": "application/x-tar", "buffer": b"x"}})
    assert reply.status == 403 and "another site" in reply.text()
    with stack.api("stu_a") as client:
        assert client.get("/submissions").json() == []
    page.click("text=Sign out")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.goto("/")
    assert "/login" in page.url
    page.fill("#token", "mlp_not-a-token")
    page.click("button[type=submit]")
    expect(page.locator(".alert")).to_contain_text("not valid")


def test_pages_session_cookie_is_http_only_and_lax(stack, new_page):
    """Over plain HTTP the cookie is not Secure (tests/pages/test_course.py: over HTTPS it is)."""
    page = new_page()
    sign_in(page, stack.tokens["alice"])
    [cookie] = page.context.cookies()
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, False, "Lax")
    assert page.evaluate("document.cookie") == ""


def test_pages_instructor_settings_and_golden_sets(stack, new_page, shot):
    page = new_page()
    sign_in(page, stack.tokens["prof"], then=f"/staff/assignments/{SLUG}/settings")
    page.fill("#deadline", "2031-05-01T23:59")
    page.fill("#late_deadline", "2031-05-03T23:59")
    page.fill("#late_penalty", "10")
    page.fill("#submission_limit", "40")
    page.click("button:has-text('Save settings')")
    expect(page.locator(".notice")).to_have_text("Saved.")
    expect(page.locator("#submission_limit")).to_have_value("40")
    with stack.api("prof") as prof:
        a = prof.get(f"/assignments/{SLUG}").json()
    assert (a["submission_limit"], a["late_penalty"]) == (40, 0.1)
    assert a["deadline"].startswith("2031-05-01T23:59")
    page.fill("#late_penalty", "250")  # the browser refuses it; the server must too
    page.locator("#settings").evaluate("form => form.noValidate = true")
    page.click("button:has-text('Save settings')")
    expect(page.locator(".alert")).to_contain_text(
        "Late penalty: input should be less than or equal to 1")
    shot(page, "settings")
    page.goto(f"/staff/assignments/{SLUG}/golden")
    expect(page.locator("button:has-text('Generate from our reference')")).to_be_visible()
    expect(page.locator("#golden-sets")).to_be_visible()
    student = new_page()
    sign_in(student, add_student(stack, "stu_lim"), then=f"/assignments/{SLUG}")
    expect(student.locator("#remaining")).to_have_text("40")
    with stack.api("prof") as prof:  # leave the assignment as other modules expect it
        prof.patch(f"/assignments/{SLUG}", json={"deadline": None, "late_deadline": None,
                                                 "late_penalty": None, "submission_limit": None})


def test_pages_refused_upload_is_refused_at_the_door(stack, new_page, shot):
    """Not a tar: the upload page says why, at once; nothing is stored or counted."""
    page = new_page()
    sign_in(page, add_student(stack, "stu_pdf"))
    upload_in_browser(page, b"%PDF-1.4 my report, not my code\n" * 40)
    alert = page.locator("p.alert")
    expect(alert).to_contain_text("Your upload is a PDF, not a tar: we accept a tar (.tar, or "
                                  ".tar.gz). Make it with tar -cvf handin.tar hw1 mytorch")
    expect(page.locator("table.list tbody tr")).to_have_count(0)
    shot(page, "student-refused")
    upload_in_browser(page, make_handin_tar())  # the real one is accepted as the first
    expect(page.locator("#receipt")).to_contain_text("Received")
