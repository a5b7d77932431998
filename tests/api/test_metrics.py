"""Observability (issue 15): `/metrics` in Prometheus's text format, and the queue health page
drawn from the same figures (services/health.py), over both databases."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from submissions_api.store import crud
from submissions_api.store.models_grading import GradingRun, QueueKind, RunOutcome, Status
from tests.api.test_staff_pages import as_user

SLUG = "hw1p1-s20"


def seed(sessions) -> None:
    """live: two queued (one for 5 minutes), one running; bulk: one queued; three runs: graded
    in 12 s and 40 s, and one of ours that failed after 3 s."""
    with sessions() as session:
        now = crud.db_now(session)
        user = crud.get_user_by_login(session, login="alice")
        assignment = crud.get_assignment(session, slug=SLUG)
        subs = []
        for i, (status, queue, waited) in enumerate([
                (Status.QUEUED, QueueKind.LIVE, 300), (Status.QUEUED, QueueKind.LIVE, 10),
                (Status.RUNNING, QueueKind.LIVE, 600), (Status.QUEUED, QueueKind.BULK, 60),
                (Status.GRADED, QueueKind.LIVE, 900)]):
            sub = crud.create_submission(session, user=user, assignment=assignment,
                                         data=f"metrics{i}".encode(), filename="handin.tar",
                                         received_at=now, late=False, penalty=0.0)
            sub.status, sub.queue = status, queue
            sub.enqueued_at = now - timedelta(seconds=waited)
            subs.append(sub)
        session.flush()
        for attempt, (seconds, outcome) in enumerate(((12, RunOutcome.GRADED),
                                                      (40, RunOutcome.GRADED),
                                                      (3, RunOutcome.INFRASTRUCTURE_ERROR)), 1):
            session.add(GradingRun(submission_id=subs[-1].id, attempt=attempt, outcome=outcome,
                                   started_at=now - timedelta(seconds=seconds + 5),
                                   finished_at=now - timedelta(seconds=5)))
        session.commit()


def scrape(client, users) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    reply = client.get("/metrics", headers=users.headers("ta1"))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(reply.text) for s in family.samples}


def test_metrics_exposes_the_queue(client, users, sessions):
    seed(sessions)
    client.get("/api/v1/assignments", headers=users.headers("alice"))
    client.get("/api/v1/submissions/1", headers=users.headers("alice"))
    m = scrape(client, users)
    assert m[("mlpgrade_queue_depth", (("queue", "live"), ("state", "queued")))] == 2
    assert m[("mlpgrade_queue_depth", (("queue", "live"), ("state", "running")))] == 1
    assert m[("mlpgrade_queue_depth", (("queue", "bulk"), ("state", "queued")))] == 1
    assert 295 <= m[("mlpgrade_oldest_waiting_seconds", (("queue", "live"),))] <= 400
    assert 55 <= m[("mlpgrade_oldest_waiting_seconds", (("queue", "bulk"),))] <= 150
    assert m[("mlpgrade_graded_last_minute", ())] == 2
    assert m[("mlpgrade_grading_runs_total", (("outcome", "graded"),))] == 2
    assert m[("mlpgrade_infrastructure_errors_total", ())] == 1
    graded = (("le", "10.0"), ("outcome", "graded"))
    assert m[("mlpgrade_grading_duration_seconds_bucket", graded)] == 0
    assert m[("mlpgrade_grading_duration_seconds_bucket",
              (("le", "20.0"), ("outcome", "graded")))] == 1
    assert m[("mlpgrade_grading_duration_seconds_bucket",
              (("le", "+Inf"), ("outcome", "graded")))] == 2
    assert abs(m[("mlpgrade_grading_duration_seconds_sum", (("outcome", "graded"),))] - 52) < 1
    # the API's latency by route template, never by id
    latency = {labels for name, labels in m
               if name == "mlpgrade_http_request_duration_seconds_count"}
    assert (("method", "GET"), ("route", "/api/v1/assignments"), ("status", "2xx")) in latency
    assert any(dict(labels)["route"] == "/api/v1/submissions/{submission_id}"
               for labels in latency)
    assert not any("/1" in dict(labels)["route"] for labels in latency)


def test_metrics_and_queue_page_are_for_staff(client, users, sessions):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=users.headers("alice")).status_code == 403
    seed(sessions)
    page = as_user(client, users, "ta1").get("/staff/queue")
    assert page.status_code == 200
    text = page.text
    assert '<dd id="graded-minute">2</dd>' in text
    row = text[text.index('id="queue-live"'):]
    row = row[:row.index("</tr>")]
    assert '<td class="num">2</td><td class="num">1</td>' in row and "5 min" in row
    duration = text[text.index('id="duration-graded"'):]
    assert "26.0 s" in duration[:duration.index("</tr>")]  # the median of 12 s and 40 s
    assert 'href="/staff/queue"' in as_user(client, users, "ta1").get("/").text
    assert as_user(client, users, "alice").get("/staff/queue").status_code == 403
