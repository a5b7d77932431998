"""TAs and instructors at class scale, in a real browser: manual points land on the submission
that counts (issue 13 bug 2), tokens are rotated and revoked (bug 6), failures are grouped by
cause, the grading queue, the page per student, sources a TA can read, users and rosters."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from submissions_api.store import crud
from submissions_api.store.models import utcnow
from submissions_api.store.models_grading import Status
from tests.handins import make_handin_tar
from tests.pages.test_pages import SLUG, add_student, api_upload, sign_in

SYNTAX = {"mytorch/linear.py": ("def forward(self, x):", "def forward(self, x)")}


def test_pages_manual_points_follow_the_counting_submission(stack, new_page, shot):
    add_student(stack, "stu_best")
    best = api_upload(stack, "stu_best", make_handin_tar())
    assert stack.wait_submission("stu_best", best)["score"] == 95
    worse = api_upload(stack, "stu_best", make_handin_tar(bugs=("sigmoid_derivative_reapplied",)))
    assert stack.wait_submission("stu_best", worse)["score"] < 95
    page = new_page()
    sign_in(page, stack.tokens["ta1"], then=f"/staff/submissions/{worse}")  # the latest
    expect(page.locator("#counts")).to_contain_text(f"submission {best}")
    expect(page.locator("#number")).to_have_text("#2")  # the student's second, as they call it
    form = page.locator("#manual-form-training_statistics")
    form.locator("input[name=points]").fill("5")
    form.locator("input[name=comment]").fill("Curves look right.")
    form.locator("button:has-text('Save points')").click()
    expect(page.locator("#manual .notice")).to_have_text("Saved.")
    # the best submission counts them: its page shows where they were given
    page.goto(f"/staff/submissions/{best}")
    expect(page.locator("#score")).to_have_text("automatic 95/95 + manual 5/5 = 100/100")
    expect(page.locator("#manual-form-training_statistics")).to_contain_text(
        f"on submission {worse}")
    page.goto(f"/staff/assignments/{SLUG}")
    row = page.locator("#students-table tr", has_text="stu_best")
    expect(row.locator("a.counts")).to_have_attribute("title",
                                                      "automatic 95/95 + manual 5/5 = 100/100")
    expect(row.locator("a.counts")).to_have_text("100")
    expect(row.locator(".badge")).to_have_count(0)  # never "manual pending" once graded
    student = new_page()
    sign_in(student, stack.tokens["stu_best"], then=f"/submissions/{worse}")
    causes = student.locator("#causes li")
    expect(causes).to_have_count(1)
    expect(causes.first).to_contain_text("Sigmoid Non-Linearity (derivative)")
    expect(causes.first).to_contain_text("7 more tests build on it")
    same = student.locator("section.feedback p.same-cause")  # each says so, once
    expect(same).to_have_count(7)
    expect(same.first).to_contain_text(
        "Same cause as Sigmoid Non-Linearity (derivative), which this test builds on")
    shot(student, "student-fix-first", keep=True)
    # sources: numbered, diff against the previous submission (the page reloads itself once
    # training ends: wait for that first)
    stack.wait_submission("stu_best", worse, training=True, timeout=300)
    page.goto(f"/staff/submissions/{worse}")
    activation = page.locator("details.source-file", has_text="mytorch/activation.py")
    # open already: the cause points at its Sigmoid.derivative
    expect(activation).to_have_attribute("open", "")
    activation.locator(".diff-previous summary").click()
    expect(activation.locator(".diff-previous .add")).to_contain_text(["+"])
    shot(activation, "ta-sources-diff")  # the file, not the whole 10,000-pixel page


def test_pages_syntax_error_traceback_links_to_the_line(stack, new_page, shot):
    add_student(stack, "stu_syn")
    sub_id = api_upload(stack, "stu_syn", make_handin_tar(SYNTAX))
    # its training run over too: the page reloads itself when it ends
    stack.wait_submission("stu_syn", sub_id, training=True, timeout=300)
    page = new_page()
    sign_in(page, stack.tokens["ta1"], then=f"/staff/submissions/{sub_id}")
    cause = page.locator("#causes li")
    expect(cause).to_have_count(1)
    expect(cause).to_contain_text("SyntaxError")
    expect(cause).to_contain_text(re.compile(r"The same error fails \d+ more tests"))
    one_open_traceback(page)
    page.locator("a.tb-link", has_text="mytorch/linear.py").first.click()
    expect(page).to_have_url(re.compile(r"#src-mytorch-linear-py-\d+$"))
    line = page.locator("[id^=src-mytorch-linear-py-]").first
    expect(line).to_be_attached()
    shot(page, "ta-sources-traceback", keep=True)
    with page.expect_download() as download:
        page.click("#download")
    assert open(download.value.path(), "rb").read() == make_handin_tar(SYNTAX)
    # on the dashboard the counted submission's failures are one cause, counted once
    page.goto(f"/staff/assignments/{SLUG}")
    cause = page.locator("#failures tr.cause", has_text="SyntaxError")
    expect(cause).to_have_count(1)
    expect(cause.locator("td").first).to_have_text("1")
    expect(cause.locator("td").nth(1)).to_have_text("linear.py:22")  # where, not a test
    shot(page, "ta-dashboard-causes", keep=True)
    # who fails a test: from the pass rates to the list, to the submission
    page.locator("#who-fails summary").click()
    page.locator("#who-fails a", has_text="Linear Layer (Forward)").click()
    expect(page.locator("h1")).to_contain_text("Who fails")
    row = page.locator("#failing-table tr", has_text="stu_syn")
    expect(row).to_contain_text("SyntaxError")
    shot(page, "ta-who-fails", keep=True)
    row.locator(f"a[href='/staff/submissions/{sub_id}']").click()
    expect(page.locator("h1")).to_contain_text(f"Submission {sub_id}")
    # the student's own result: the same one open traceback, linked to the line in their own
    # code shown on the page
    student = new_page()
    sign_in(student, stack.tokens["stu_syn"], then=f"/submissions/{sub_id}")
    one_open_traceback(student)
    student.locator("a.tb-link", has_text="mytorch/linear.py").first.click()
    expect(student).to_have_url(re.compile(r"#src-mytorch-linear-py-22$"))
    expect(student.locator("#your-code #src-mytorch-linear-py-22")).to_be_attached()
    shot(student, "student-syntax-error-once")


def one_open_traceback(page) -> None:
    """One SyntaxError hand-in's feedback: the traceback open once, in the fix-first test; each
    other failed test says it has the same cause (its own text folded), points still shown."""
    failed = page.locator("section.feedback")
    count = failed.count()
    assert count > 10
    expect(page.locator("pre.fb:visible", has_text="SyntaxError")).to_have_count(1)
    expect(failed.first.locator("pre.fb")).to_be_visible()
    same = page.locator("section.feedback p.same-cause")
    expect(same).to_have_count(count - 1)
    expect(same.first).to_contain_text(re.compile(r"Same error as in .+ \(mytorch/linear\.py:22\)"))
    expect(same.first.locator("a").first).to_have_attribute(
        "href", f"#{failed.first.get_attribute('id')}")
    expect(page.locator("section.feedback details.own-feedback:not([open])")).to_have_count(
        count - 1)
    expect(failed.nth(1).locator("h3")).to_contain_text(re.compile(r"0/\d+ · \w+"))


def test_pages_grading_queue_next_and_saved_comments(stack, new_page, shot):
    with stack.sessions()() as session:  # graded students without a grading run each
        assignment = crud.get_assignment(session, slug=SLUG)
        ids = []
        for login in ("q_ann", "q_ben"):
            user = crud.create_user(session, login=login, name=login)
            sub = crud.create_submission(session, user=user, assignment=assignment,
                                         data=login.encode(), filename="handin.tar",
                                         received_at=utcnow(), late=False, penalty=0.0)
            sub.status, sub.score = Status.GRADED, 50.0
            ids.append(sub.id)
        session.commit()
    page = new_page()
    sign_in(page, stack.tokens["ta1"], then=f"/staff/assignments/{SLUG}")
    waiting = int(page.locator("#waiting strong").inner_text())
    assert waiting >= 2
    page.click("#students-table a:has-text('q_ann')")
    expect(page.locator("h1")).to_contain_text("q_ann")
    page.locator(".best a").click()
    expect(page.locator("#queue")).to_contain_text("Next ungraded")
    form = page.locator("#manual-form-training_statistics")
    form.locator("input[name=points]").fill("3")
    form.locator("input[name=comment]").fill("Validation error too high.")
    form.locator("input[name=keep]").check()
    shot(page, "ta-manual-grading", keep=True)
    form.locator("button:has-text('Save and next')").click()
    expect(page).not_to_have_url(re.compile(f"/staff/submissions/{ids[0]}"))
    expect(page.locator("#saved-comments-training_statistics")).to_contain_text(
        "Validation error too high.")
    page.locator("button.use-comment").first.click()
    expect(page.locator("#comment-training_statistics")).to_have_value(
        "Validation error too high.")
    page.goto(f"/staff/assignments/{SLUG}")
    expect(page.locator("#waiting strong")).to_have_text(str(waiting - 1))


def test_pages_users_tokens_and_roster(stack, new_page, shot):
    victim = add_student(stack, "stu_tok")
    student = new_page()
    sign_in(student, victim)
    expect(student.locator("h1")).to_have_text("Assignments")
    page = new_page()
    page.on("dialog", lambda d: d.accept())
    sign_in(page, stack.tokens["prof"], then="/staff/users")
    row = page.locator("#user-stu_tok")
    row.locator("button:has-text('New token')").click()
    token = page.locator("#new-tokens code.token").inner_text()
    assert token.startswith("mlp_") and token != victim
    student.reload()  # the old token was the session: signed out
    expect(student).to_have_url(re.compile("/login"))
    sign_in(student, token)
    expect(student.locator("h1")).to_have_text("Assignments")
    page.locator("#user-stu_tok select").select_option("ta")
    page.locator("#user-stu_tok button:has-text('Change')").click()
    expect(page.locator("#user-stu_tok select")).to_have_value("ta")
    page.locator("#user-stu_tok button:has-text('Revoke')").click()
    expect(page.locator("#user-stu_tok")).to_contain_text("(no access)")
    student.reload()
    expect(student).to_have_url(re.compile("/login"))
    # a Canvas export: preview names the bad row, import waits until the file is fixed
    canvas = ("Student,ID,SIS User ID,SIS Login ID,Section\n    Points Possible,,,,\n"
              '"Lovelace, Ada",1,1,r_ada,A\n"Nobody",2,2,,A\n')
    page.set_input_files("#roster-file", files=[{"name": "canvas.csv", "mimeType": "text/csv",
                                                 "buffer": canvas.encode()}])
    page.click("#roster-form button:has-text('Preview')")
    expect(page.locator("#roster-errors")).to_contain_text("line 4: no login")
    expect(page.locator("#import-form button")).to_be_disabled()
    shot(page, "instructor-roster-preview", keep=True)
    fixed = canvas.replace('"Nobody",2,2,,A', '"Turing, Alan",2,2,r_alan@cmu.edu,A')
    page.set_input_files("#roster-file", files=[{"name": "canvas.csv", "mimeType": "text/csv",
                                                 "buffer": fixed.encode()}])
    page.click("#roster-form button:has-text('Preview')")
    expect(page.locator("#preview tbody tr")).to_have_count(2)
    page.click("#import-form button")
    expect(page.locator("#new-tokens")).to_contain_text("2 users imported")
    expect(page.locator("#new-tokens code.token")).to_have_count(2)
    expect(page.locator("#user-r_alan")).to_be_visible()
    shot(page, "instructor-users", keep=True)


def test_pages_student_page_pages_through_history(stack, new_page, shot):
    with stack.sessions()() as session:
        assignment = crud.get_assignment(session, slug=SLUG)
        user = crud.create_user(session, login="stu_many", name="Many")
        ids = []
        for n in range(23):  # the best (17 points) is neither the first nor the latest
            sub = crud.create_submission(session, user=user, assignment=assignment,
                                         data=f"many{n}".encode(), filename="handin.tar",
                                         received_at=utcnow(), late=False, penalty=0.0)
            sub.status, sub.score = Status.GRADED, float(n) if n <= 17 else 1.0
            ids.append(sub.id)
        best = ids[17]
        session.commit()
    page = new_page()
    sign_in(page, stack.tokens["ta1"], then="/staff/students/stu_many")
    expect(page.locator("#history tbody tr")).to_have_count(20)
    best_line = page.locator(f"#standing-{SLUG} .best a")  # the one score line of every page
    expect(best_line).to_contain_text("automatic 17/95 + manual —/5 = 17/100")
    shot(page, "ta-student-page", keep=True)
    page.click("#next")
    expect(page.locator("#history tbody tr")).to_have_count(3)
    page.click("#prev")
    page.locator(f"#standing-{SLUG} .best a").click()
    expect(page).to_have_url(re.compile(f"/staff/submissions/{best}$"))


def test_pages_queue_health(stack, new_page, shot):
    add_student(stack, "stu_queue")
    stack.wait_submission("stu_queue", api_upload(stack, "stu_queue", make_handin_tar()))
    page = new_page()
    sign_in(page, stack.tokens["ta1"], then="/")
    page.click("#queue-link")
    expect(page.locator("h1")).to_have_text("Queue health")
    expect(page.locator("#queue-live td").nth(1)).to_have_text("0")  # nothing waits
    expect(page.locator("#duration-graded td").nth(1)).not_to_have_text("0")
    expect(page.locator("#duration-graded td").nth(2)).to_contain_text(" s")
    shot(page, "ta-queue-health", keep=True)
