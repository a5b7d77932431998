"""The worker's plain functions on the real grader, a real hand-in and both real stacks:
one result per attempt, stale messages dropped, lost leases dropped, infrastructure failures
retried with backoff and then failed without counting."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from grader.sandbox import get_sandbox
from submissions_api.store import crud, lifecycle, rubrics
from submissions_api.store.models import utcnow
from submissions_api.store.models_grading import GradingRun, Status
from tests.api.services import SANDBOX, seed_golden_set, service_env
from tests.handins import make_handin_tar
from tests.reports import made_report
from worker import health
from worker.context import WorkerContext
from worker.grading import grade_submission
from worker.reaper import reap_once
from worker.smoke import sandbox_check
from worker.training import train_run


@pytest.fixture
def ctx(backend, service_home, sessions, dispatcher, monkeypatch) -> WorkerContext:
    """A worker's context on a fresh database whose active golden set is the session's."""
    env = service_env(service_home, backend.database_url, backend.broker_url)
    for key in ("MLPGRADE_HOME", "MLPGRADE_RUNTIME"):
        monkeypatch.setenv(key, env[key])
    seed_golden_set(backend.database_url, service_home)
    settings = dataclasses.replace(backend, home=service_home)
    return WorkerContext(settings=settings, sessions=sessions, dispatcher=dispatcher,
                         sandbox_factory=lambda: get_sandbox(SANDBOX))


def submit(ctx, data: bytes, login: str = "alice") -> int:
    with ctx.sessions() as session:
        user = crud.get_user_by_login(session, login=login) or \
            crud.create_user(session, login=login)
        sub = crud.create_submission(session, user=user,
                                     assignment=crud.get_assignment(session, slug="hw1p1-s20"),
                                     data=data, filename="handin.tar", received_at=utcnow(),
                                     late=False, penalty=0.0)
        session.commit()
        return sub.id


def runs(ctx, sub_id):
    with ctx.sessions() as session:
        return list(crud.list_runs(session, submission_id=sub_id))


def state(ctx, sub_id):
    with ctx.sessions() as session:
        return crud.get_submission(session, submission_id=sub_id)


def test_grading_reference_records_full_marks_once(ctx):
    sub_id = submit(ctx, make_handin_tar())
    assert grade_submission(ctx, submission_id=sub_id, attempt=1, owner="w1") == "graded"
    sub = state(ctx, sub_id)
    assert sub.status == Status.GRADED and sub.score == 95.0 and sub.lease_owner is None
    [run] = runs(ctx, sub_id)
    assert run.outcome == "graded" and run.report["score"] == 95.0 and run.golden_version
    # the rubric it was graded under: the assignment's content hash, as its row says
    assert run.rubric_version == rubrics.assignment("hw1p1-s20").version
    with ctx.sessions() as session:
        assert crud.get_assignment(session, slug="hw1p1-s20").rubric_version == run.rubric_version
    # the same message delivered again (acks_late redelivery) is stale: nothing more recorded
    assert grade_submission(ctx, submission_id=sub_id, attempt=1, owner="w2") == "stale"
    assert len(runs(ctx, sub_id)) == 1


def test_grading_buggy_handin_scores_its_partial_marks(ctx):
    sub_id = submit(ctx, make_handin_tar(edits={"hw1/mc.py": ("return 'b'", "return 'a'")}))
    assert grade_submission(ctx, submission_id=sub_id, attempt=1, owner="w") == "graded"
    assert state(ctx, sub_id).score == 95.0 - 5.0  # the multiple-choice test alone fails


def test_grading_refused_tar_is_a_zero_not_an_error(ctx):
    sub_id = submit(ctx, b"this is not a tar file at all")
    assert grade_submission(ctx, submission_id=sub_id, attempt=1, owner="w") == "graded"
    sub = state(ctx, sub_id)
    assert sub.status == Status.GRADED and sub.score == 0.0 and sub.counts_toward_limit


def test_grading_result_of_a_lost_lease_is_dropped(ctx):
    sub_id = submit(ctx, make_handin_tar())
    with ctx.sessions() as session:  # worker A claims, then its lease expires and is reaped
        assert lifecycle.claim_submission(session, submission_id=sub_id, attempt=1, owner="A",
                                     lease_seconds=0.01)
        session.commit()
    assert reap_once(ctx, now=utcnow() + timedelta(seconds=1))["requeued"] == [sub_id]
    assert grade_submission(ctx, submission_id=sub_id, attempt=2, owner="B") == "graded"
    with ctx.sessions() as session:  # A comes back with its result: refused, nothing written
        sub = crud.get_submission(session, submission_id=sub_id)
        assert lifecycle.record_graded(session, submission=sub, attempt=1, owner="A",
                                       report=made_report(0.0),
                                       started_at=utcnow()) is None
        session.rollback()
    assert [(r.attempt, r.score) for r in runs(ctx, sub_id)] == [(2, 95.0)]
    assert state(ctx, sub_id).score == 95.0


def test_grading_infrastructure_error_retries_then_fails_without_counting(ctx, monkeypatch):
    ctx = dataclasses.replace(ctx, sandbox_factory=lambda: get_sandbox("no-such-backend"))
    # The host itself is well: its smoke run (worker/smoke.py, real) goes through a working
    # backend, so only the gradings fail. (A host whose own sandbox is broken is sick and
    # charges nothing: tests/worker/test_sandbox_smoke.py.)
    monkeypatch.setattr(health, "sandbox_check", lambda _: sandbox_check(lambda: get_sandbox(
        SANDBOX)))
    sub_id = submit(ctx, make_handin_tar())  # ours: the sandbox factory raises
    outcomes = [grade_submission(ctx, submission_id=sub_id, attempt=n, owner=f"w{n}")
                for n in (1, 2, 3)]
    assert outcomes == ["retry", "retry", "failed"]  # infra_retries = 2
    sub = state(ctx, sub_id)
    assert sub.status == Status.FAILED and sub.counts_toward_limit is False
    assert sub.score is None and "no-such-backend" in sub.error
    recorded = runs(ctx, sub_id)
    assert [(r.attempt, r.outcome, r.score) for r in recorded] == [
        (1, "infrastructure_error", None), (2, "infrastructure_error", None),
        (3, "infrastructure_error", None)]
    # the retries were sent with backoff (delayed messages on the live queue)
    assert ctx.dispatcher.queue_size("live") >= 2 or ctx.settings.broker_url.startswith("redis")


def test_grading_never_writes_two_results_for_one_attempt(ctx, sessions):
    sub_id = submit(ctx, make_handin_tar())
    assert grade_submission(ctx, submission_id=sub_id, attempt=1, owner="w") == "graded"
    with sessions() as session:
        session.add(GradingRun(submission_id=sub_id, attempt=1, outcome="graded", score=1.0))
        with pytest.raises(IntegrityError):  # the (submission, attempt) unique constraint
            session.commit()


def test_training_plots_stored_and_manual_points_counted(ctx, client, users):
    """The training run follows the automatic tests on the bulk queue and is recorded once; the
    run keeps its four plots and checks; a TA's manual points (0-5, with a comment) join the
    score, survive a regrade's new run, and the gradebook says who still waits for them."""
    sub_id = submit(ctx, make_handin_tar())
    assert grade_submission(ctx, submission_id=sub_id, attempt=1, owner="w1") == "graded"
    [run] = runs(ctx, sub_id)
    assert run.training == "pending" and not run.artifacts and run.score == 95.0
    assert ctx.dispatcher.queue_size("bulk") == 1  # its message (the similarity job follows it)
    assert train_run(ctx, run_id=run.id) == "done"
    assert train_run(ctx, run_id=run.id) == "stale"  # a duplicate delivery records nothing
    [run] = runs(ctx, sub_id)
    [item] = run.report["manual"]
    assert run.training == "done" and all(c["passed"] for c in item["evidence"]["checks"])
    names = {"training_losses.png", "training_errors.png", "validation_losses.png",
             "validation_errors.png"}
    assert set(run.artifacts) == names and set(run.report["artifacts"]) == names
    A = "/api/v1"
    png = client.get(f"{A}/runs/{run.id}/plots/validation_errors.png",
                     headers=users.headers("alice"))
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert client.get(f"{A}/runs/{run.id}/plots/validation_errors.png",
                      headers=users.headers("bob")).status_code == 403
    assert client.get(f"{A}/runs/{run.id}/plots/x.png",
                      headers=users.headers("ta1")).status_code == 404

    mine = client.get(f"{A}/submissions/{sub_id}", headers=users.headers("alice")).json()
    assert mine["manual_pending"] and mine["final_score"] == 95.0
    assert mine["manual"][0]["id"] == "training_statistics" and mine["manual"][0]["points"] is None
    book = client.get(f"{A}/assignments/hw1p1-s20/gradebook.csv", headers=users.headers("ta1"))
    alice = next(line for line in book.text.splitlines() if line.startswith("alice,"))
    assert ",True,graded" in alice and ",100.0," in alice  # pending; out of 95 + 5

    url = f"{A}/submissions/{sub_id}/manual/training_statistics"
    assert client.put(url, json={"points": 5}, headers=users.headers("alice")).status_code == 403
    assert client.put(url, json={"points": 6}, headers=users.headers("ta1")).status_code == 422
    assert client.put(f"{A}/submissions/{sub_id}/manual/nope", json={"points": 1},
                      headers=users.headers("ta1")).status_code == 404
    reply = client.put(url, json={"points": 4.5, "comment": "curves fall; val error 0.7"},
                       headers=users.headers("ta1"))
    assert reply.status_code == 200, reply.text
    mine = client.get(f"{A}/submissions/{sub_id}", headers=users.headers("alice")).json()
    assert (mine["final_score"], mine["manual_score"], mine["manual_pending"]) == (99.5, 4.5, False)
    assert mine["manual"][0]["comment"] == "curves fall; val error 0.7"
    assert mine["result"]["artifacts"]  # the student sees which plots exist

    with ctx.sessions() as session:  # a regrade's new run keeps the TA's points
        assert lifecycle.requeue(session, submission_id=sub_id, attempt=1,
                                 from_status=Status.GRADED)
        session.commit()
    assert grade_submission(ctx, submission_id=sub_id, attempt=2, owner="w1") == "graded"
    mine = client.get(f"{A}/submissions/{sub_id}", headers=users.headers("alice")).json()
    assert mine["training"] == "pending"  # the new run's own training run is on its way
    assert mine["final_score"] == 99.5 and mine["run_id"] != run.id
    book = client.get(f"{A}/assignments/hw1p1-s20/gradebook.csv", headers=users.headers("ta1"))
    alice = next(line for line in book.text.splitlines() if line.startswith("alice,"))
    assert alice.startswith("alice,Alice,99.5,95.0,4.5,") and ",False,graded" in alice
