"""Rubric grading in Chromium (issue 28 items 1, 2 and 6), on SQLite and on PostgreSQL (the app
under uvicorn in a thread, over the `backend` fixture): a TA grades 20 students with the
keyboard alone, then edits an item and every student who has it is re-scored (the LMS outbox
rows move on); a TA annotates lines of a file and the student sees them once graded; a
regrade request goes to the TA's queue and its answer comes back to the student; of two TAs
grading one student at once, the second is told, not let to overwrite."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from submissions_api import security
from submissions_api.services.sources import anchor
from submissions_api.store import crud
from submissions_api.store.models import Role, User
from submissions_api.store.models_manual import ManualGrade
from submissions_api.store.models_rubric import RubricItem
from tests.api.test_rubric import ITEM, SLUG, link_to_lms, outbox_versions, seed
from tests.pages.conftest import pages_on
from tests.pages.test_pages import sign_in
from tests.pages.test_polish import no_serious_violations

CLASS = [f"s{n:02d}" for n in range(1, 21)]


@pytest.fixture
def open_page(browser, tool):
    with pages_on(browser, tool.url) as make:
        yield make


def points_by_login(sessions) -> dict[str, float]:
    with sessions() as session:
        return dict(session.execute(select(User.login, ManualGrade.points).join(
            ManualGrade, ManualGrade.user_id == User.id)).all())


def add_items_by_keyboard(page) -> None:
    """Three rubric items typed into the rubric page's form (Tab between fields, Enter)."""
    for points, description, key in [("3", "Curves fall and level off", "c"),
                                     ("2", "Validation close to training", "v"),
                                     ("-1", "Accuracy below the reference", "a")]:
        page.focus(f"#new-{ITEM} input[name=points]")
        page.keyboard.type(points)
        page.keyboard.press("Tab")
        page.keyboard.type(description)
        page.keyboard.press("Tab")
        page.keyboard.type(key)
        page.keyboard.press("Enter")
        expect(page.locator(f"#rubric-table-{ITEM} input[name=description]").last
               ).to_have_value(description)


def test_rubric_pages_grade_twenty_by_keyboard_then_an_edit_rescores_all(
        open_page, tool, users, sessions, shot):
    seed(sessions, CLASS)
    link_to_lms(sessions, CLASS)
    page = open_page()
    sign_in(page, users.tokens["ta1"], then=f"/staff/assignments/{SLUG}/rubric")
    add_items_by_keyboard(page)
    no_serious_violations(page)
    page.goto(f"/staff/assignments/{SLUG}/grading/next")
    for n, login in enumerate(CLASS):
        expect(page.locator("h1")).to_contain_text(login)
        expect(page.locator(f"#manual-form-{ITEM} input[name=rubric]").first).to_be_focused()
        page.keyboard.press("c")
        page.keyboard.press("v" if n % 2 == 0 else "a")
        expect(page.locator(f"#total-{ITEM}")).to_have_text("5/5" if n % 2 == 0 else "2/5")
        if n == 0:
            no_serious_violations(page)
            shot(page.locator("#manual"), "guide-ta-rubric", keep=True)
        page.keyboard.press("Enter")  # saves and opens the next student who waits
    expect(page).to_have_url(f"{tool.url}/staff/assignments/{SLUG}?graded=all#manual-queue")
    assert points_by_login(sessions) == {x: 5.0 if i % 2 == 0 else 2.0
                                         for i, x in enumerate(CLASS)}
    before = outbox_versions(sessions)

    page.goto(f"/staff/assignments/{SLUG}/rubric")
    expect(page.locator(f"#rubric-table-{ITEM} td.count")).to_have_text(["20", "10", "10"])
    with sessions() as session:
        first = session.scalars(select(RubricItem).order_by(RubricItem.id)).first().id
    page.fill(f"#rubric-row-{first} input[name=points]", "2.5")
    page.focus(f"#rubric-row-{first} input[name=points]")
    page.keyboard.press("Enter")
    expect(page.locator(f"#rubric-row-{first} input[name=points]")).to_have_value("2.5")
    shot(page, "rubric-items-stats")
    assert points_by_login(sessions) == {x: 4.5 if i % 2 == 0 else 1.5
                                         for i, x in enumerate(CLASS)}
    after = outbox_versions(sessions)
    assert len(after) == 20 and all(after[u] == before[u] + 1 for u in before)


def test_rubric_pages_annotation_and_regrade_request_round_trip(open_page, users, sessions,
                                                                shot):
    sub = seed(sessions, ["alice"])["alice"]
    ta = open_page()
    sign_in(ta, users.tokens["ta1"], then=f"/staff/submissions/{sub}")
    source = ta.locator("#file-1 .source")  # the first file, open
    path = source.get_attribute("data-path")
    lines = source.locator("pre").inner_text().split("\n")
    assert len(lines) > 6
    # the TA selects from line 2 to line 4 (their anchors: sources.anchor) and lets go
    ta.evaluate("""([pre, prefix]) => { const r = document.createRange();
        r.setStartAfter(document.getElementById(prefix + '-2'));
        r.setEndAfter(document.getElementById(prefix + '-4'));
        getSelection().removeAllRanges(); getSelection().addRange(r);
        pre.dispatchEvent(new MouseEvent('mouseup', {bubbles: true})); }""",
                [source.locator("pre").element_handle(), anchor(path)])
    form = ta.locator("#annotate-1")
    expect(form.locator("input[name=first]")).to_have_value("2")
    expect(form.locator("input[name=last]")).to_have_value("4")
    ta.keyboard.type("Look at <b>this</b> loop: it never uses the batch.")
    ta.keyboard.press("Enter")
    expect(ta.locator("#file-1 li.annotation")).to_contain_text(
        "Look at <b>this</b> loop: it never uses the batch.")
    no_serious_violations(ta)
    form = ta.locator(f"#manual-form-{ITEM}")
    form.locator("input[name=points]").fill("3")
    form.locator("button:has-text('Save points')").click()
    expect(ta.locator("#manual .notice")).to_have_text("Saved.")
    shot(ta.locator("#sources"), "rubric-annotation-staff")

    student = open_page()
    sign_in(student, users.tokens["alice"], then=f"/submissions/{sub}")
    notes = student.locator("#annotations")
    expect(notes).to_contain_text(path)
    expect(notes.locator("li.annotation")).to_contain_text("lines 2–4")
    student.locator(f"#request-{ITEM} summary").click()
    student.fill(f"#reason-{ITEM}", "My curves level off like the reference's.")
    student.click("button:has-text('Ask for a regrade')")
    expect(student.locator(f"#request-{ITEM}")).to_contain_text("A TA will answer here.")
    no_serious_violations(student)

    ta.goto(f"/staff/assignments/{SLUG}")  # the dashboard says a request waits, and leads there
    expect(ta.locator("#regrade-requests")).to_have_text("Regrade requests (1 waiting)")
    ta.click("#regrade-requests")
    expect(ta.locator("#requests-summary")).to_contain_text("1 waiting of 1")
    request = ta.locator("section.request").first
    request.locator("input[name=points]").fill("4.5")
    request.locator("input[name=answer]").fill("Agreed: they do. 4.5/5.")
    request.locator("button:has-text('Answer')").click()
    expect(ta.locator("section.request.answered")).to_contain_text("now 4.5/5")
    no_serious_violations(ta)
    shot(ta, "rubric-regrade-queue")
    student.reload()
    expect(student.locator(f"#request-{ITEM}")).to_contain_text("(3 → 4.5/5)")
    expect(student.locator("#score")).to_contain_text("manual 4.5/5")
    shot(student, "rubric-student-annotated")


def test_rubric_pages_two_tas_on_one_student_the_second_is_told(open_page, users, sessions,
                                                                shot):
    sub = seed(sessions, ["bob"])["bob"]
    with sessions() as session:
        ta2 = crud.create_user(session, login="ta2", name="TA Two", role=Role.TA)
        token = security.issue_token(session, user=ta2)
        session.commit()
    first, second = open_page(), open_page()
    sign_in(first, users.tokens["ta1"], then=f"/staff/submissions/{sub}")
    sign_in(second, token, then=f"/staff/submissions/{sub}")
    first.fill(f"#points-{ITEM}", "5")
    first.keyboard.press("Enter")
    expect(first.locator("h1")).not_to_contain_text("bob")  # on to the next: none waits
    second.fill(f"#points-{ITEM}", "1")
    second.keyboard.press("Enter")
    expect(second.locator("#changed")).to_have_text(
        "not saved: ta1 saved bob's points meanwhile (now 5/5). Check and save again.")
    expect(second.locator(f"#manual-form-{ITEM}")).to_contain_text("5/5 given")
    no_serious_violations(second)
    shot(second.locator("#manual"), "rubric-second-ta-told")
    assert points_by_login(sessions) == {"bob": 5.0}
