"""Class-wide views kept per process (services/classviews.py over store/revision.py) stay exact:
every committed write a view reads moves the class revision on, whichever session, process or
path (unit of work, update statement) makes it; progress and leases, which no view reads, do
not; and a session never keeps a view of its own uncommitted writes."""

from __future__ import annotations

from grader.results import GradeReport
from submissions_api.services import classviews, dashboard, gradebook
from submissions_api.store import crud, lifecycle, revision
from submissions_api.store.models import utcnow
from tests.api.test_staff import graded
from tests.reports import made_report

A = "/api/v1"
SLUG = "hw1p1-s20"


def number(sessions) -> int:
    with sessions() as session:
        seen = revision.current(session)
    assert seen is not None
    return seen[1]


def test_every_write_a_view_reads_moves_the_revision(users, sessions):
    start = number(sessions)
    with sessions() as session:
        alice = crud.get_user_by_login(session, login="alice")
        sub = crud.create_submission(session, user=alice,
                                     assignment=crud.get_assignment(session, slug=SLUG),
                                     data=b"tar", filename="handin.tar", received_at=utcnow(),
                                     late=False, penalty=0.0)
        session.commit()
    assert number(sessions) == start + 1  # unit of work: a new submission
    with sessions() as session:
        assert lifecycle.claim_submission(session, submission_id=sub.id, attempt=1, owner="w",
                                          lease_seconds=60)
        session.commit()
    assert number(sessions) == start + 2  # an update statement: queued → running
    with sessions() as session:
        assert lifecycle.report_progress(session, submission_id=sub.id, attempt=1, owner="w",
                                         progress={"test": "linear"})
        assert lifecycle.renew_lease(session, submission_id=sub.id, attempt=1, owner="w",
                                     lease_seconds=60)
        session.commit()
    assert number(sessions) == start + 2  # no view reads progress or leases
    with sessions() as session:
        crud.get_user_by_login(session, login="bob").name = "Robert"
        session.rollback()
        session.commit()
    assert number(sessions) == start + 2  # rolled back: nothing was written
    with sessions() as session:
        run = lifecycle.record_graded(session, submission=crud.get_submission(
            session, submission_id=sub.id), attempt=1, owner="w",
            report=made_report(40.0),
            started_at=utcnow())
        assert run is not None
        session.commit()
    assert number(sessions) == start + 3  # one commit, one step, however many statements


def test_views_are_kept_until_a_write_and_then_exact(client, users, sessions, monkeypatch):
    reads = []
    original = crud.gradebook_rows
    monkeypatch.setattr(crud, "gradebook_rows", lambda *a, **k: reads.append(1) or original(
        *a, **k))

    def stats() -> dict:
        reply = client.get(f"{A}/assignments/{SLUG}/stats", headers=users.headers("ta1"))
        assert reply.status_code == 200, reply.text
        return reply.json()

    assert stats()["graded_students"] == 0
    assert stats()["graded_students"] == 0 and len(reads) == 1  # kept: read once
    graded(sessions, "alice", 80.0)  # another session, as a worker's would be
    assert stats()["graded_students"] == 1 and stats()["mean"] == 80.0 and len(reads) == 2
    gradebook_csv = client.get(f"{A}/assignments/{SLUG}/gradebook.csv",
                               headers=users.headers("ta1")).text
    assert ",80.0," in gradebook_csv and len(reads) == 2  # the same read serves the gradebook
    with sessions() as session:
        sub = crud.list_submissions(session, limit=1)[0]
        sub.score = 20.0  # a regrade's new score
        session.commit()
    assert stats()["mean"] == 20.0 and len(reads) == 3


def test_a_session_does_not_keep_a_view_of_its_uncommitted_writes(users, sessions):
    graded(sessions, "alice", 80.0)
    with sessions() as session:
        assignment = crud.get_assignment(session, slug=SLUG)
        assert gradebook.gradebook_table(session, assignment, "best")[0]["score"] == 80.0
        crud.list_submissions(session, limit=1)[0].score = 10.0
        assert revision.current(session) is None
        assert gradebook.gradebook_table(session, assignment, "best")[0]["score"] == 10.0
        session.rollback()
    with sessions() as session:
        assignment = crud.get_assignment(session, slug=SLUG)
        assert gradebook.gradebook_table(session, assignment, "best")[0]["score"] == 80.0


def views(sessions) -> tuple:
    """Every class-wide view of the assignment, as the pages and the API read them."""
    with sessions() as session:
        assignment = crud.get_assignment(session, slug=SLUG)
        table = dashboard.class_table(session, assignment)
        return (gradebook.gradebook_table(session, assignment, "best"),
                gradebook.gradebook_table(session, assignment, "latest"),
                gradebook.class_stats(session, assignment, "best"),
                gradebook.student_rows(gradebook.class_entries(session, assignment)),
                table.rows, table.clusters)


def report(score: float, passed: bool) -> GradeReport:
    return made_report(score, tests=[{"id": "linear", "name": "Linear", "passed": passed,
                                      "status": "ok", "checks": [
        {"name": "dW", "passed": passed, "message": "" if passed else "dW differs"}]}])


def grade(sessions, sub_id: int, attempt: int, score: float, passed: bool) -> None:
    """The worker's path: claim (an update statement), then record the run."""
    with sessions() as session:
        assert lifecycle.claim_submission(session, submission_id=sub_id, attempt=attempt,
                                          owner="w", lease_seconds=60)
        session.commit()
    with sessions() as session:
        assert lifecycle.record_graded(
            session, submission=crud.get_submission(session, submission_id=sub_id),
            attempt=attempt, owner="w", report=report(score, passed),
            started_at=utcnow()) is not None
        session.commit()


def watch(monkeypatch) -> tuple[list, list]:
    """Whole-class reads of the entries, and the logins whose gradebook rows are made."""
    whole, made = [], []
    original, row = crud.gradebook_rows, gradebook.gradebook_row
    monkeypatch.setattr(crud, "gradebook_rows", lambda *a, **k: (
        whole.append(1) if k.get("user_ids") is None and k.get("user_id") is None else None)
        or original(*a, **k))
    monkeypatch.setattr(gradebook, "gradebook_row", lambda login, *a: made.append(login) or row(
        login, *a))
    return whole, made


def test_kept_views_stay_exact_after_every_kind_of_write(client, users, sessions, monkeypatch):
    """Each write is followed by the kept views (brought up to date by the change log) and by
    the same views read afresh; they must be equal, and the kept ones re-read only the
    students the write changed."""
    whole, made = watch(monkeypatch)

    def same(incremental: bool = True) -> None:
        before = len(whole)
        made.clear()
        kept_views = views(sessions)
        assert (len(whole) == before) is incremental
        if incremental:  # the gradebook's rows made again: the changed student's, per policy
            assert set(made) <= {"alice"}, made
        classviews._views.clear()
        assert kept_views == views(sessions)

    graded(sessions, "bob", 30.0)
    views(sessions)  # the first read reads the whole class
    with sessions() as session:  # an upload
        alice = crud.get_user_by_login(session, login="alice")
        sub = crud.create_submission(session, user=alice,
                                     assignment=crud.get_assignment(session, slug=SLUG),
                                     data=b"tar", filename="handin.tar", received_at=utcnow(),
                                     late=False, penalty=0.0).id
        session.commit()
    same()
    grade(sessions, sub, 1, 60.0, False)  # graded
    same()
    assert views(sessions)[2][0]["tests"][0]["pass_rate"] == 0.0
    assert client.put(f"{A}/submissions/{sub}/manual/training_statistics",
                      headers=users.headers("ta1"),
                      json={"points": 4, "comment": "ok"}).status_code == 200  # manual points
    same()
    assert client.put(f"{A}/assignments/{SLUG}/extensions/alice", headers=users.headers("ta1"),
                      json={"deadline": "2030-01-01T00:00:00Z"}).status_code == 200
    same()
    with sessions() as session:  # a regrade of alice's submission: queued again, then graded
        assignment = crud.get_assignment(session, slug=SLUG)
        lifecycle.create_regrade(session, assignment=assignment, scope="latest",
                                 requested_by=None,
                                 submissions=[crud.get_submission(session, submission_id=sub)])
        session.commit()
    same()
    grade(sessions, sub, 2, 90.0, True)
    same()
    assert views(sessions)[2][0]["tests"][0]["pass_rate"] == 1.0
    with sessions() as session:  # roster changes: a new student, a student who leaves
        crud.create_user(session, login="carol", name="Carol")
        session.commit()
    same(incremental=False)
    with sessions() as session:
        crud.get_user_by_login(session, login="bob").role = "ta"
        session.commit()
    same(incremental=False)
    assert [r["login"] for r in views(sessions)[0]] == ["alice", "bob", "carol"]
