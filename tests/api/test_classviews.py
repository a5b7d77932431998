"""Class-wide views kept per process (services/classviews.py over store/revision.py) stay exact:
every committed write a view reads moves the class revision on, whichever session, process or
path (unit of work, update statement) makes it; progress and leases, which no view reads, do
not; and a session never keeps a view of its own uncommitted writes."""

from __future__ import annotations

from submissions_api.services import gradebook
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
