"""The queue health page as staff meet issue 27's faults in Chromium: a sick worker host is named
with its reason, the submissions that failed through our fault are listed, and the button grades
the chosen ones again (graded by the real worker); once the host is well the alert is gone.
axe-core finds no serious violation; at 375 px the page does not scroll sideways."""

from __future__ import annotations

from playwright.sync_api import expect

from submissions_api.store import crud, lifecycle
from submissions_api.store.models import utcnow
from submissions_api.store.models_grading import Status
from tests.handins import make_handin_tar
from tests.pages.test_pages import GRADING, SLUG, add_student, sign_in
from tests.pages.test_polish import no_serious_violations

HOST = "grader-2:/srv/mlpgrade"
REASON = "cannot write to /tmp/mlpgrade-worker-812-x: No space left on device"


def report(stack, reason: str) -> None:
    """What a worker host's self-check writes (worker/health.py), as that host would."""
    with stack.sessions()() as session:
        crud.report_host(session, name=HOST, reason=reason, now=crud.db_now(session))
        session.commit()


def failed_submission(stack, login: str) -> int:
    """A hand-in whose grading failed on our side each time it was tried."""
    with stack.sessions()() as session:
        sub = crud.create_submission(
            session, user=crud.get_user_by_login(session, login=login),
            assignment=crud.get_assignment(session, slug=SLUG), data=make_handin_tar(),
            filename="handin.tar", received_at=utcnow(), late=False, penalty=0.0)
        assert lifecycle.fail_submission(session, submission_id=sub.id, attempt=sub.attempts,
                                         from_status=Status.QUEUED,
                                         error=f"OSError: [Errno 28] No space left on device "
                                               f"(on a sick host: {REASON})")
        session.commit()
        return sub.id


def test_queue_page_names_a_sick_host_and_grades_failed_ones_again(stack, new_page, shot):
    add_student(stack, "stu_fault")
    report(stack, REASON)  # while a host is sick the service re-grades nothing by itself
    sub_id = failed_submission(stack, "stu_fault")
    page = new_page()
    sign_in(page, stack.tokens["ta1"], then="/staff/queue")
    alert = page.locator(".sick-host")
    expect(alert).to_contain_text(HOST)
    expect(alert).to_contain_text("No space left on device")
    expect(page.locator(f"#failed-{sub_id}")).to_contain_text("stu_fault")
    no_serious_violations(page)
    shot(page, "queue-sick-host")
    phone = new_page(viewport={"width": 375, "height": 800})
    sign_in(phone, stack.tokens["ta1"], then="/staff/queue")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the queue page scrolls sideways: {width} px"
    shot(phone, "queue-sick-host-phone")
    page.locator("#regrade-failed").click()
    expect(page.locator("#regraded")).to_contain_text("1 submission")
    shot(page, "queue-regraded")
    graded = stack.wait_submission("stu_fault", sub_id, statuses=("graded",),
                                   timeout=GRADING / 1000)
    assert graded["score"] == 95.0
    report(stack, "")  # its check passes again
    page.goto("/staff/queue")
    expect(page.locator(".sick-host")).to_have_count(0)
    expect(page.locator("#failed")).to_have_count(0)
    shot(page, "queue-well")
