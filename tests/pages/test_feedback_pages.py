"""Feedback that says where to look, and refusals that help (issue 29, items 1-3), in a real
browser: a wrong value names the file, class and method (linked to its line in the student's
own code on their page, and in the TA's source view), counts only the other tests, the curves
say who grades them, a zip is named, a hand-in full of notebooks and PDFs gets one notice."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.handins import make_handin_tar
from tests.pages.test_pages import add_student, api_upload, sign_in, upload_in_browser
from tests.pages.test_polish import no_serious_violations

OTHERS = ("Batch Normalization (training time), Batch Normalization (inference time), Linear "
          "Classifier (backward), Linear Classifier (step), Single Hidden Layer (backward), "
          "N Hidden Layer (backward) 1, N Hidden Layer (backward) 2, N Hidden Layer (backward) 3, "
          "Momentum.")


def test_pages_a_wrong_value_points_at_the_code_and_its_line(stack, new_page, shot):
    add_student(stack, "stu_dw")
    sub_id = api_upload(stack, "stu_dw", make_handin_tar(bugs=("linear_dw_summed",)))
    stack.wait_submission("stu_dw", sub_id, training=True, timeout=300)
    student = new_page()
    sign_in(student, stack.tokens["stu_dw"], then=f"/submissions/{sub_id}")
    cause = student.locator("#causes li")
    expect(cause).to_have_count(1)
    expect(cause.locator(".cause-look")).to_have_text(
        "Look at Linear.backward in mytorch/linear.py.")
    expect(cause.locator(".cause-more")).to_have_text(
        f"9 more tests build on it and fail too: {OTHERS}")
    # the dependants name the first layer whose values go wrong, in their own messages
    single = student.locator("#test-single_hidden_backward")
    single.locator("summary").click()
    expect(single.locator(".where")).to_have_text(
        "Your values are already wrong at linear_layers[1], the first layer the backward pass "
        "reaches. Look at MLP.backward in hw1/hw1.py, then Linear.backward in mytorch/linear.py, "
        "then Sigmoid.derivative in mytorch/activation.py.")
    # the place links to the line that defines it in the student's own code, shown below
    own = student.locator("#causes a.code-link")
    expect(own).to_have_text("Linear.backward in mytorch/linear.py")
    own.click()
    expect(student).to_have_url(re.compile(r"#src-mytorch-linear-py-27$"))
    expect(student.locator("#your-code #src-mytorch-linear-py-27").locator("xpath=..")
           ).to_contain_text("def backward(self, delta):")
    expect(student.locator("#your-code details.source-file summary")).to_have_text(
        [re.compile(r"^mytorch/linear\.py")])  # only the files the feedback names
    shot(student, "student-feedback-points-at-code", keep=True)
    # the curves say what a good curve is and that a TA grades them
    guide = student.locator("#curve-guide")
    expect(guide).to_contain_text("A TA grades these curves (“Training statistics”)")
    expect(guide).to_contain_text("Lower is not better here")
    shot(student.locator("#plots"), "student-curves-guide", keep=True)
    no_serious_violations(student)
    # the TA's page links the place to the line that defines it
    ta = new_page()
    sign_in(ta, stack.tokens["ta1"], then=f"/staff/submissions/{sub_id}")
    link = ta.locator("#causes a.code-link")
    expect(link).to_have_text("Linear.backward in mytorch/linear.py")
    link.click()
    expect(ta).to_have_url(re.compile(r"#src-mytorch-linear-py-27$"))
    expect(ta.locator("#src-mytorch-linear-py-27").locator("xpath=..")).to_contain_text(
        "def backward(self, delta):")
    shot(ta, "ta-feedback-code-link")
    no_serious_violations(ta)


def test_pages_refusals_name_the_format_and_one_notice_lists_what_was_left_out(
        stack, new_page, shot):
    page = new_page()
    sign_in(page, add_student(stack, "stu_zip"))
    upload_in_browser(page, b"PK\x03\x04\x14\x00" + b"\x00" * 200)
    expect(page.locator("p.alert")).to_have_text(
        "Your upload is a zip archive, not a tar: we accept a tar (.tar, or .tar.gz). Make it "
        "with tar -cvf handin.tar hw1 mytorch in the folder that holds hw1/ and mytorch/.")
    shot(page, "student-refused-zip", keep=True)
    no_serious_violations(page)
    extra = {"writeup.pdf": "%PDF-1.4", "hw1/scratch.ipynb": "{}",
             "hw1/.ipynb_checkpoints/hw1-checkpoint.py": "x = 1\n"}
    upload_in_browser(page, make_handin_tar(extra=extra))
    expect(page.locator("#receipt")).to_contain_text("Received")
    expect(page.locator("#score")).to_be_visible(timeout=120_000)
    notes = page.locator(".intake p")
    expect(notes).to_have_count(1)
    expect(notes).to_have_text(
        "We graded only the source in hw1/ and mytorch/ and left out 3 files: outside hw1/ and "
        "mytorch/: writeup.pdf; hidden or cache files: "
        "hw1/.ipynb_checkpoints/hw1-checkpoint.py; not source code: hw1/scratch.ipynb.")
    shot(page, "student-one-notice", keep=True)
