"""A sick worker host says so (issue 27 item 1): the health endpoint counts it, /metrics and the
queue page name it and why; the queue page lists what failed through our fault, and its button
grades the chosen ones again (on the bulk queue)."""

from __future__ import annotations

from submissions_api.store import crud, lifecycle
from submissions_api.store.models import utcnow
from submissions_api.store.models_grading import QueueKind, Status
from tests.api.test_metrics import scrape
from tests.api.test_staff_pages import as_user
from tests.handins import make_handin_tar

HOST = "grader-2:/var/lib/mlpgrade"


def report(sessions, reason: str) -> None:
    with sessions() as session:
        crud.report_host(session, name=HOST, reason=reason, now=utcnow())
        session.commit()


def failed_submission(sessions, login: str) -> int:
    with sessions() as session:
        sub = crud.create_submission(session, user=crud.get_user_by_login(session, login=login),
                                     assignment=crud.get_assignment(session, slug="hw1p1-s20"),
                                     data=make_handin_tar(extra={"hw1/x.py": login}),
                                     filename="handin.tar", received_at=utcnow(), late=False,
                                     penalty=0.0)
        lifecycle.fail_submission(session, submission_id=sub.id, attempt=1,
                                  from_status=Status.QUEUED, error="OSError: No space left")
        session.commit()
        return sub.id


def test_sick_host_shows_on_health_metrics_and_queue_page(client, users, sessions):
    report(sessions, "cannot write to /tmp: No space left on device")
    health = client.get("/health").json()
    assert health["status"] == "degraded" and health["sick_hosts"] == 1
    assert HOST not in str(health)  # which host and why: for staff only
    m = scrape(client, users)
    assert m[("mlpgrade_worker_host_sick", (("host", HOST),))] == 1
    page = as_user(client, users, "ta1").get("/staff/queue").text
    assert HOST in page and "No space left on device" in page
    report(sessions, "")  # its check passes again
    assert client.get("/health").json() | {"version": ""} == {
        "status": "ok", "database": "ok", "broker": "ok", "sick_hosts": 0, "version": ""}
    assert HOST not in as_user(client, users, "ta1").get("/staff/queue").text


def test_queue_page_button_grades_the_chosen_failed_again(client, users, sessions, dispatcher):
    ids = [failed_submission(sessions, login) for login in ("alice", "bob")]
    ta = as_user(client, users, "ta1")
    page = ta.get("/staff/queue").text
    assert all(f'id="failed-{i}"' in page for i in ids)
    assert scrape(client, users)[("mlpgrade_failed_submissions", ())] == 2
    reply = ta.post("/staff/queue/regrade", data={"ids": [ids[0]]}, follow_redirects=False)
    assert reply.status_code == 303 and "regraded=1" in reply.headers["location"]
    with sessions() as session:
        chosen, other = (crud.get_submission(session, submission_id=i) for i in ids)
        assert (chosen.status, chosen.queue, chosen.attempts) == \
            (Status.QUEUED, QueueKind.BULK, 2)
        assert other.status == Status.FAILED
    assert dispatcher.queue_size("bulk") == 1
    assert as_user(client, users, "alice").post(
        "/staff/queue/regrade", data={"ids": [ids[1]]}).status_code == 403
