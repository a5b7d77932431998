"""The similarity pages in a real browser: a TA finds the copied pair at the top, sees its
matching regions side by side, and marks it; an archive imported with `mlpgrade similarity
import` joins the ranking; students see none of it."""

from __future__ import annotations

import os
import random
import time

import pytest
from playwright.sync_api import expect

from bench.similarity import corpus, transforms
from submissions_api.store.models_similarity import SimilarityPair
from tests.handins import make_handin_tar, make_tar
from tests.pages.conftest import SCREENSHOTS
from tests.pages.test_pages import SLUG, add_student, api_upload, sign_in
from tests.pages.test_polish import no_serious_violations

WAIT = 540.0  # s: grading, then the training run and the similarity job on the bulk queue


@pytest.fixture(scope="module")
def sim_stack(stack):
    """The pages' stack with a second worker on the bulk queue (training runs queue there)."""
    stack.worker("bulk")
    return stack


def wait_pairs(stack, count: int) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with stack.sessions()() as session:
            if session.query(SimilarityPair).count() >= count:
                return
        time.sleep(0.5)
    raise AssertionError(f"fewer than {count} similarity pairs after {WAIT} s")


def test_similarity_pages_rank_show_and_review_a_copied_pair(sim_stack, new_page, shot,
                                                            tmp_path):
    stack = sim_stack
    originals = corpus.originals()
    copy = transforms.reorder(transforms.rename(originals["ref"], 3, random.Random(7)), 3,
                              random.Random(8))
    for login, data in [("sim_orig", make_handin_tar()), ("sim_copy", make_tar(copy))]:
        add_student(stack, login)
        api_upload(stack, login, data)
    wait_pairs(stack, 1)
    archive = tmp_path / "archive"
    corpus.write([corpus.Handin("old_v4", "v4", "original", originals["v4"]),
                  corpus.Handin("old_v2", "v2", "original", originals["v2"])], archive)
    out = stack.mlpgrade("similarity", "import", "--assignment", SLUG, "--semester", "S19",
                         str(archive))
    assert out.returncode == 0 and "imported 2 hand-ins" in out.stdout, out.stderr
    wait_pairs(stack, 5)  # the archive's against this semester's, not each other

    page = new_page()
    sign_in(page, stack.tokens["ta1"], then=f"/staff/assignments/{SLUG}")
    page.click("text=Similarity")
    rows = page.locator("#pairs tbody tr")
    expect(rows).to_have_count(1)  # the default threshold leaves only the copy
    expect(rows.first).to_contain_text("sim_orig")
    expect(rows.first).to_contain_text("sim_copy")
    page.fill("#threshold", "0")
    page.click("#similarity-filter button")
    expect(rows).to_have_count(5)
    expect(page.locator("#pairs")).to_contain_text("S19")
    no_serious_violations(page)
    shot(page, "similarity-pairs", keep=True)

    page.locator("#pairs tbody tr").first.locator("a").click()
    expect(page.locator("h1")).to_contain_text("sim_orig")  # in either order: the pair's
    expect(page.locator("h1")).to_contain_text("sim_copy")  # sides follow the jobs' order
    assert int(page.locator("#pair-similarity").inner_text().rstrip("%")) >= 90
    expect(page.locator("#side-a .sim-line.hl").first).to_be_visible()
    assert page.locator("#side-b .sim-line.hl").count() > 20
    page.locator("#matches a").first.click()
    assert "#m0-a" in page.url
    pair_url = page.url
    page.check("input[value=suspected]")
    page.fill("#note", "same structure, renamed")
    page.click("#review-form button")
    expect(page.locator("#review .notice")).to_have_text("Saved.")
    expect(page.locator("input[value=suspected]")).to_be_checked()
    no_serious_violations(page)
    shot(page, "similarity-pair")
    if os.environ.get("MLPGRADE_UPDATE_SCREENSHOTS") == "1":  # the docs' copy: the top of it
        page.screenshot(path=str(SCREENSHOTS / "similarity-pair.png"), full_page=True,
                        clip={"x": 0, "y": 0, "width": 1280, "height": 2000})

    page.goto(f"/staff/assignments/{SLUG}/similarity?review=suspected&threshold=0")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("same structure, renamed")

    refused_to_a_student(stack, new_page(), pair_url)


def refused_to_a_student(stack, student, pair_url: str) -> None:
    sign_in(student, stack.tokens["sim_copy"], then="/")
    student.goto(f"/staff/assignments/{SLUG}/similarity")
    expect(student.locator("body")).not_to_contain_text("sim_orig")
    student.goto(pair_url.split("#")[0].replace(stack.url, ""))  # the pair page is refused too
    expect(student.locator("body")).not_to_contain_text("Matching regions")


def wait_pair(stack, a: str, b: str) -> SimilarityPair:
    """The stored pair of students a and b (their latest hand-ins), once the job made it."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with stack.sessions()() as session:
            for pair in session.query(SimilarityPair).all():
                if {pair.a.student, pair.b.student} == {a, b}:
                    session.expunge(pair)
                    return pair
        time.sleep(0.5)
    raise AssertionError(f"no pair of {a} and {b} after {WAIT} s")


def test_similarity_pages_show_a_hostile_copy_compared_by_tokens(sim_stack, new_page, shot):
    """Issue 26 through the service: a verbatim copy plus a file of 100,000 unary minus signs
    (no test imports it) once raised MemoryError in the job, crashed Celery's result thread and
    never reached this page; now it is ranked as the copy it is, the file compared by its
    tokens is named for that hand-in only, and the worker grades the next hand-in."""
    stack = sim_stack
    ref = corpus.originals()["ref"]
    hostile = make_tar({**ref, "mytorch/extra.py": "W = " + "-" * 100_000 + "1\n"})
    for login, data in [("tok_orig", make_handin_tar()), ("tok_copy", hostile)]:
        add_student(stack, login)
        api_upload(stack, login, data)
    pair = wait_pair(stack, "tok_orig", "tok_copy")
    assert pair.similarity >= 0.9
    add_student(stack, "tok_next")  # the worker pool still grades
    after = api_upload(stack, "tok_next", make_handin_tar())

    page = new_page()
    sign_in(page, stack.tokens["ta1"], then=f"/staff/assignments/{SLUG}/similarity?threshold=0")
    row = page.locator("#pairs tbody tr", has_text="tok_copy").filter(has_text="tok_orig")
    expect(row).to_have_count(1)
    listed = page.locator("body")
    expect(listed).to_contain_text("Compared by their tokens only")
    expect(listed).to_contain_text("mytorch/extra.py")
    expect(listed).to_contain_text("it is nested too deeply to parse")
    no_serious_violations(page)
    shot(page, "similarity-tokens")
    page.goto(f"/staff/similarity/pairs/{pair.id}")
    assert int(page.locator("#pair-similarity").inner_text().rstrip("%")) >= 90
    expect(page.locator("body")).to_contain_text("Compared by its tokens only")
    shot(page, "similarity-tokens-pair")
    assert stack.wait_submission("tok_next", after)["status"] == "graded"
