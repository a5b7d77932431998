"""Rosters through the instructors' users page in a real browser (issue 24 item 5): a real
Canvas gradebook export with its Test Student imports, the new tokens download as CSV, a
Gradescope and a Moodle participants re-import update names, an unknown header is a header
problem whose columns become choices; the page's inputs have the site's styles
(walkthrough §1.7)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import expect

from tests.api.test_rosters import FILES
from tests.pages.test_pages import sign_in
from tests.pages.test_polish import no_serious_violations


def upload(page, path: Path | None = None, *, name: str = "", data: bytes = b"") -> None:
    """Choose a roster file and press Preview."""
    page.set_input_files("#roster-file", files=[{
        "name": name or path.name, "mimeType": "text/csv",
        "buffer": data or path.read_bytes()}])
    page.click("#roster-form button:has-text('Preview')")


def test_pages_canvas_export_with_test_student_imports(stack, new_page, shot):
    page = new_page()
    sign_in(page, stack.tokens["prof"], then="/staff/users")
    expect(page.locator("h1")).to_have_text("Users")  # signed in: the page is there
    assert page.eval_on_selector("#login", "e => getComputedStyle(e).borderRadius") == "6px"
    assert page.eval_on_selector("#preset", "e => getComputedStyle(e).borderRadius") == "6px"
    upload(page, FILES / "canvas-gradebook.csv")
    expect(page.locator("#preview h2")).to_contain_text("read as Canvas gradebook export")
    expect(page.locator("#roster-notes")).to_contain_text("Canvas's Test Student (Student, Test)")
    expect(page.locator("#roster-notes")).to_contain_text("Points Possible row")
    expect(page.locator("#roster-errors")).to_have_count(0)
    expect(page.locator("#import-form button")).to_have_text("Import 3 users")
    expect(page.locator("#import-form button")).to_be_enabled()
    no_serious_violations(page)
    shot(page, "instructor-roster-canvas-preview", keep=True)
    page.click("#import-form button")
    expect(page.locator("#import-summary")).to_contain_text("3 created, 0 updated")
    with page.expect_download() as download:
        page.click("#tokens-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [r["login"] for r in rows] == ["enguyen", "sobrien", "hito"]
    assert all(r["token"].startswith("mlp_") for r in rows)
    expect(page.locator("#user-sobrien")).to_contain_text("O'Brien, Seán")
    expect(page.locator("#user-sobrien")).to_contain_text("11-785 Section B")
    no_serious_violations(page)  # the import summary
    student = new_page()
    sign_in(student, rows[2]["token"])  # the downloaded token is hito's
    expect(student.locator("h1")).to_have_text("Assignments")

    upload(page, FILES / "gradescope-roster.csv")  # a re-import: names as Gradescope has them
    expect(page.locator("#preview tbody tr").first).to_contain_text("update")
    page.click("#import-form button")
    expect(page.locator("#imported-hito")).to_contain_text("updated (name)")
    expect(page.locator("#imported-ada")).to_contain_text("created")
    expect(page.locator("#user-hito")).to_contain_text("Hana Ito")
    shot(page, "instructor-roster-reimported")

    upload(page, FILES / "moodle-participants.csv")  # Moodle's participants, Excel's BOM kept
    expect(page.locator("#preview h2")).to_contain_text("read as Moodle participants export")
    expect(page.locator("#roster-notes")).to_contain_text("Observer is not a member")
    page.click("#import-form button")
    expect(page.locator("#imported-enguyen")).to_contain_text("updated (name")
    expect(page.locator("#imported-praman")).to_contain_text("created")
    expect(page.locator("#user-enguyen")).to_contain_text("Emma Nguyen")
    expect(page.locator("#user-enguyen")).to_contain_text("Lab 1")
    expect(page.locator("#user-praman")).to_contain_text("Priya Raman")
    expect(page.locator("#user-praman select")).to_have_value("ta")
    expect(page.locator("#user-pparent")).to_have_count(0)


def test_pages_unknown_header_offers_its_columns(stack, new_page, shot):
    page = new_page()
    sign_in(page, stack.tokens["prof"], then="/staff/users")
    expect(page.locator("h1")).to_have_text("Users")
    for login, bad in (("a/b", True), ("=HYPERLINK(1)", True), ("kwame.a", False)):
        page.fill("#login", login)  # the browser checks the login alphabet before sending
        assert page.eval_on_selector("#login", "e => e.validity.patternMismatch") is bad
    page.fill("#login", "")
    upload(page, name="odd.csv", data=b"Full Name,E-mail address\nRae Ng,rng@x.edu\n")
    expect(page.locator("#header-error")).to_contain_text("header is not one we recognise")
    expect(page.locator("#header-error")).to_contain_text('--map login="E-mail address"')
    expect(page.locator("#roster-errors")).to_have_count(0)
    expect(page.locator("#import-form button")).to_be_disabled()
    options = page.locator("#map_login option").all_inner_texts()
    assert options == ["(none)", "Full Name", "E-mail address"]
    expect(page.locator("#map_login")).to_have_value("E-mail address")  # the suggestion
    no_serious_violations(page)
    shot(page, "instructor-roster-unknown-header")
    page.select_option("#map_name", "Full Name")
    page.click("#columns-form button")
    expect(page.locator("#preview tbody tr")).to_have_count(1)
    expect(page.locator("#preview tbody tr")).to_contain_text("Rae Ng")
    shot(page, "instructor-roster-columns")
    page.click("#import-form button")
    expect(page.locator("#imported-rng")).to_contain_text("created")
