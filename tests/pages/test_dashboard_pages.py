"""The TA dashboard of a class of 400 (seeded in bulk by bench/dashboard.py), in Chromium, on
SQLite and on PostgreSQL: the students table filtered to "awaiting manual" and to one failure
cluster, a cluster hint written once and seen on a later student's result, and a group of five
copies on the similarity page (issue 28 items 3-5)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from bench.dashboard import PROFILES, seed_class, seed_copies
from grader.rubric import load_assignment
from tests.api.services import REDIS_URL, check_redis, service_env
from tests.e2e.stack import copy_home, start_stack
from tests.handins import make_handin_tar
from tests.pages.test_pages import GRADING, SLUG, add_student, api_upload, sign_in
from tests.pages.test_polish import no_serious_violations

HOSTILE = "<script>alert(1)</script> Check\x07 the derivative at 0:\r\nuse > 0, not >= 0 \u202e"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request, tmp_path_factory, service_home):
    """The API and a worker over a class of 400 seeded students and five copies."""
    tmp = tmp_path_factory.mktemp(f"dashboard-{request.param}")
    home = copy_home(service_home, tmp / "home")
    if request.param == "sqlite":
        env = service_env(home, f"sqlite:///{home / 'service.db'}",
                          f"sqla+sqlite:///{home / 'broker.db'}")
    else:
        check_redis()
        env = service_env(home, request.getfixturevalue("postgres_databases").fresh(),
                          REDIS_URL)
    s = start_stack(f"dashboard-{request.param}", env, tmp)
    s.kinds = seed_class(env["MLPGRADE_DATABASE_URL"])
    s.copies = seed_copies(env["MLPGRADE_DATABASE_URL"])
    s.worker()
    yield s
    s.stop()


def shown_logins(page) -> list[str]:
    return page.locator("#students-table tbody tr[data-login]").evaluate_all(
        "rows => rows.map(r => r.dataset.login)")


def matched(page) -> int:
    return int(page.locator("#table-count").inner_text().split()[0])


def test_dashboard_of_400_filters_awaiting_manual_and_one_failure_cluster(stack, new_page, shot):
    page = new_page()
    sign_in(page, stack.tokens["ta1"], then=f"/staff/assignments/{SLUG}")
    assert matched(page) >= 400
    expect(page.locator("#students-table tbody tr")).to_have_count(50)  # a page of them
    page.click("a.filter-chip[data-show=awaiting-manual]")
    waiting = stack.kinds["awaiting-manual"] + stack.copies  # graded, no manual points
    assert matched(page) == len(waiting)
    assert set(shown_logins(page)) <= set(waiting)
    expect(page.locator("#students-table tbody tr .badge", has_text="TA")).to_have_count(50)
    page.click(".pager a[rel=next]")
    assert "page=2" in page.url and set(shown_logins(page)) <= set(waiting)
    page.click("#students-table th a:has-text('Best')")  # sorted by best, highest first next
    page.click("#students-table th a:has-text('Best')")
    best = [float(t) for t in page.locator("#students-table tbody td:nth-child(4) a.counts")
            .all_inner_texts()]
    assert best == sorted(best, reverse=True) and matched(page) == len(waiting)
    assert page.locator("#students-table tbody td:nth-child(4) a").first.get_attribute(
        "title").startswith("automatic ")  # the full sentence on hover
    no_serious_violations(page)
    shot(page, "dashboard-awaiting-manual")

    page.goto(f"/staff/assignments/{SLUG}")
    first = page.locator("#failures tr.cause").first
    students = int(first.locator("td.num a").inner_text())
    fix_first = first.locator("td").nth(1).inner_text()
    first.locator("td.num a").click()
    expect(page.locator("#table-conditions")).to_contain_text(fix_first)
    assert matched(page) == students
    test_id = next(t.id for t in load_assignment(SLUG).tests if t.name == fix_first)
    profiles = [i for i, p in enumerate(PROFILES) if test_id in p[1]]
    expected = {login for i in profiles for login in stack.kinds.get(f"profile-{i}", [])}
    assert set(shown_logins(page)) <= expected
    no_serious_violations(page)
    shot(page, "dashboard-cluster")

    page.fill("#student-q", "s0012")
    page.press("#student-q", "Enter")
    assert matched(page) <= 1  # the cluster and the search together
    page.click("#table-conditions a:has-text('Show all')")
    assert matched(page) >= 400


def relu_cluster(page):
    relu = next(t.name for t in load_assignment(SLUG).tests if t.id == "relu_derivative")
    return page.locator("#failures tr.cause", has_text=relu)


def test_dashboard_cluster_hint_reaches_a_later_student_escaped(stack, new_page, shot):
    buggy = make_handin_tar(bugs=("relu_derivative_ge_zero",))
    add_student(stack, "early_bird")
    first = api_upload(stack, "early_bird", buggy)
    stack.wait_submission("early_bird", first, timeout=GRADING / 1000)

    ta = new_page()
    sign_in(ta, stack.tokens["ta1"], then=f"/staff/assignments/{SLUG}")
    row = relu_cluster(ta)
    expect(row).to_have_count(1)
    row.locator("summary").click()
    row.locator("textarea").fill(HOSTILE)
    row.locator("button").click()
    expect(ta.locator("#hint-saved")).to_be_visible()
    no_serious_violations(ta)
    shot(ta, "dashboard-hint-written")

    add_student(stack, "late_bird")
    later = api_upload(stack, "late_bird", buggy)
    stack.wait_submission("late_bird", later, timeout=GRADING / 1000)
    student = new_page()
    sign_in(student, stack.tokens["late_bird"], then=f"/submissions/{later}")
    hints = student.locator("#hints")
    expect(hints).to_contain_text("<script>alert(1)</script> Check the derivative at 0:")
    expect(hints).to_contain_text("use > 0, not >= 0")
    assert hints.locator("script").count() == 0
    assert "\x07" not in hints.inner_text() and "\u202e" not in hints.inner_text()
    no_serious_violations(student)
    shot(student, "student-result-with-hint")

    ta.goto(f"/staff/assignments/{SLUG}#hints")
    reached = ta.locator("#hints-table tr", has_text="Check the derivative").locator(".reached")
    expect(reached).to_have_text("1")  # the later student read it; the early one not yet
    early = new_page()
    sign_in(early, stack.tokens["early_bird"], then=f"/submissions/{first}")
    expect(early.locator("#hints")).to_contain_text("Check the derivative")
    ta.reload()
    expect(reached).to_have_text("2")


def test_similarity_page_opens_a_group_of_five_copies(stack, new_page, shot):
    page = new_page()
    sign_in(page, stack.tokens["ta1"], then=f"/staff/assignments/{SLUG}/similarity")
    group = page.locator("#groups tbody tr", has_text=stack.copies[0])
    expect(group).to_have_count(1)
    for login in stack.copies:
        expect(group).to_contain_text(login)
    expect(group.locator("td.num").last).to_have_text("10")  # five copies: ten pairs, one row
    no_serious_violations(page)
    shot(page, "similarity-groups")
    group.locator("a").first.click()
    expect(page.locator("#group-size")).to_have_text("5")
    expect(page.locator("#members tbody tr")).to_have_count(5)
    expect(page.locator("#group-pairs tbody tr")).to_have_count(10)
    shared = page.locator("#shared-source .sim-line.hl")
    assert shared.count() > 20
    counts = {int(n) for n in shared.evaluate_all("ls => ls.map(l => l.dataset.shared)")}
    assert max(counts) == 4  # a line of the source held by each of the four others
    assert page.locator("#shared-source h3").count() == len(
        set(page.locator("#shared-source h3").all_inner_texts()))  # each file once
    no_serious_violations(page)
    shot(page, "similarity-group")
    page.locator("#group-pairs tbody a").first.click()
    expect(page.locator("#matches")).to_be_visible()  # the pair view stays for detail
    assert re.search(r"/staff/similarity/pairs/\d+$", page.url)
