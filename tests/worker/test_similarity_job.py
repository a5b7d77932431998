"""The incremental similarity job on both real stacks: a graded submission is compared with
the assignment's others (its student's earlier entry replaced), archives import, reviews stick,
and grading sends the job to the bulk queue."""

from __future__ import annotations

import dataclasses
import random

import pytest

from bench.similarity import corpus, transforms
from submissions_api.deps import SESSION_COOKIE
from submissions_api.errors import Forbidden
from submissions_api.services import similarity as service
from submissions_api.store import crud
from submissions_api.store.crud import similarity as sim
from submissions_api.store.models import User
from submissions_api.store.models_grading import Status
from submissions_api.store.models_similarity import SimilarityPair
from tests.handins import make_handin_tar, make_tar
from tests.worker import test_grading
from worker import similarity
from worker.grading import grade_submission
from worker.training import train_run

ctx = test_grading.ctx  # the worker context fixture (a fresh database, the session's golden set)
submit = test_grading.submit


def graded(ctx, data: bytes, login: str) -> int:
    """A stored submission marked graded (what the job reads), without running the grader."""
    sub_id = submit(ctx, data, login)
    with ctx.sessions() as session:
        crud.get_submission(session, submission_id=sub_id).status = Status.GRADED
        session.commit()
    return sub_id


def pairs(ctx) -> dict[frozenset, SimilarityPair]:
    with ctx.sessions() as session:
        a = crud.get_assignment(session, slug="hw1p1-s20")
        return {frozenset((p.a.student, p.b.student)): p
                for p in sim.list_pairs(session, assignment_id=a.id)}


@pytest.fixture(scope="module")
def handins():
    originals = corpus.originals()
    copy = transforms.rename(originals["ref"], 3, random.Random(4))
    return {"ref": make_handin_tar(), "copy": make_tar(copy), "v1": make_tar(originals["v1"])}


def test_similarity_job_scores_each_new_submission_against_the_others(ctx, handins):
    ids = {login: graded(ctx, handins[name], login)
           for login, name in [("alice", "ref"), ("bob", "copy"), ("carol", "v1")]}
    for sub_id in ids.values():
        assert similarity.index(ctx, kind="submission", ident=sub_id) == "compared"
    found = pairs(ctx)
    assert len(found) == 3
    copied = found[frozenset(("alice", "bob"))]
    assert copied.similarity >= 0.9 and copied.matches
    assert {m["a_file"] for m in copied.matches} >= {"hw1/hw1.py", "mytorch/batchnorm.py"}
    assert found[frozenset(("alice", "carol"))].similarity < 0.5
    # bob hands in again (his own work now): his old entry and its pairs go, the new one is scored
    again = graded(ctx, handins["v1"], "bob")
    assert similarity.index(ctx, kind="submission", ident=again) == "compared"
    found = pairs(ctx)
    assert len(found) == 3
    assert found[frozenset(("alice", "bob"))].similarity < 0.5
    assert found[frozenset(("bob", "carol"))].similarity >= 0.99
    # an older submission graded late never replaces the newer entry
    assert similarity.index(ctx, kind="submission", ident=ids["bob"]) == "skipped"


def test_similarity_job_imported_archive_is_compared_with_this_semester(ctx, handins, tmp_path):
    graded(ctx, handins["copy"], "alice")
    [alice] = [s for s in crud_submissions(ctx)]
    similarity.index(ctx, kind="submission", ident=alice)
    archive = tmp_path / "s2019"
    (archive / "oldref.tar").parent.mkdir()
    (archive / "oldref.tar").write_bytes(handins["ref"])
    corpus.write([corpus.Handin("oldv1", "v1", "original", corpus.originals()["v1"])], archive)
    assert service.import_archive(ctx.settings, "hw1p1-s20", "S19", archive) == 2
    with ctx.sessions() as session:
        a = crud.get_assignment(session, slug="hw1p1-s20")
        entries = [e for e in sim.list_entries(session, assignment_id=a.id)
                   if e.source == "archive"]
    assert sorted(e.student for e in entries) == ["oldref", "oldv1"]
    for entry in entries:
        similarity.index(ctx, kind="entry", ident=entry.id)
    found = pairs(ctx)
    assert set(found) == {frozenset(("alice", "oldref")), frozenset(("alice", "oldv1"))}
    assert found[frozenset(("alice", "oldref"))].similarity >= 0.9
    assert found[frozenset(("alice", "oldref"))].b.semester in ("S19", "")


def crud_submissions(ctx) -> list[int]:
    with ctx.sessions() as session:
        a = crud.get_assignment(session, slug="hw1p1-s20")
        return [s.id for s in crud.list_submissions(session, assignment_id=a.id)]


def test_similarity_review_is_staff_only_and_kept(ctx, handins, users):
    for login, name in [("alice", "ref"), ("bob", "copy")]:
        similarity.index(ctx, kind="submission", ident=graded(ctx, handins[name], login))
    pair = pairs(ctx)[frozenset(("alice", "bob"))]
    with ctx.sessions() as session:
        student = session.query(User).filter_by(login="alice").one()
        ta = session.query(User).filter_by(login="ta1").one()
        with pytest.raises(Forbidden):
            service.pair_rows(session, student, "hw1p1-s20", threshold=0.0)
        with pytest.raises(Forbidden):
            service.review_pair(session, student, pair.id, "cleared", "")
        service.review_pair(session, ta, pair.id, "suspected", "same typos")
        [row] = service.pair_rows(session, ta, "hw1p1-s20", threshold=0.5)
        assert (row.id, row.review, row.note) == (pair.id, "suspected", "same typos")
        _, a, b = service.pair_view(session, ta, pair.id)
        marked = [n for path, lines in a.files for n, _, m in lines if m is not None]
        assert marked and {p for p, _ in a.files} <= {m["a_file"] for m in pair.matches}


def test_similarity_job_follows_the_training_run_on_the_bulk_queue(ctx):
    before = ctx.dispatcher.queue_size("bulk") or 0
    sub_id = submit(ctx, make_handin_tar(), "dora")
    assert grade_submission(ctx, submission_id=sub_id, attempt=1, owner="w") == "graded"
    # one message on the live path: the training run, which sends the similarity job once
    # recorded (a duplicate delivery records nothing and sends nothing)
    assert ctx.dispatcher.queue_size("bulk") == before + 1
    with ctx.sessions() as session:
        run_id = crud.get_submission(session, submission_id=sub_id).current_run_id
    assert train_run(ctx, run_id=run_id) == "done"
    assert ctx.dispatcher.queue_size("bulk") == before + 2
    assert train_run(ctx, run_id=run_id) == "stale"
    assert ctx.dispatcher.queue_size("bulk") == before + 2



def test_similarity_every_scope_keeps_all_but_never_pairs_a_student_with_herself(ctx, handins):
    every = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings,
                                                                  similarity_scope="every"))
    first = graded(ctx, handins["ref"], "alice")
    second = graded(ctx, handins["copy"], "alice")
    bob = graded(ctx, handins["v1"], "bob")
    for sub_id in (first, second, bob):
        assert similarity.index(every, kind="submission", ident=sub_id) == "compared"
    with ctx.sessions() as session:
        a = crud.get_assignment(session, slug="hw1p1-s20")
        found = sorted((p.a.submission_id, p.b.submission_id)
                       for p in sim.list_pairs(session, assignment_id=a.id))
    assert found == [(first, bob), (second, bob)]


def test_similarity_job_hostile_file_is_compared_by_tokens_and_shown_for_that_handin(
        ctx, handins, users, client):
    """Issue 26: a verbatim copy plus a file of 100,000 unary minus signs (no test imports it)
    once made the job raise MemoryError out of `ast.parse` and crash Celery's result thread; now
    the job completes, the copy pairs with its source, and staff see which file of which hand-in
    was compared by its tokens, and why."""
    originals = corpus.originals()
    hostile = make_tar({**originals["ref"], "mytorch/extra.py": "W = " + "-" * 100_000 + "1\n"})
    ids = {login: graded(ctx, data, login)
           for login, data in [("alice", handins["ref"]), ("bob", hostile),
                               ("carol", handins["v1"])]}
    for sub_id in ids.values():
        assert similarity.index(ctx, kind="submission", ident=sub_id) == "compared"
    copied = pairs(ctx)[frozenset(("alice", "bob"))]
    assert copied.similarity >= 0.9
    with ctx.sessions() as session:
        student = session.query(User).filter_by(login="bob").one()
        ta = session.query(User).filter_by(login="ta1").one()
        with pytest.raises(Forbidden):
            service.token_only(session, student, "hw1p1-s20")
        [shown] = service.token_only(session, ta, "hw1p1-s20")
        assert (shown.label, shown.submission_id) == ("bob", ids["bob"])
        assert shown.files == (("mytorch/extra.py", "it is nested too deeply to parse; "
                                "compared by tokens from line(s) 1"),)
        _, a, b = service.pair_view(session, ta, copied.id)
        sides = {a.label: a, b.label: b}
        assert sides["alice"].token_only == () and sides["bob"].token_only == shown.files
    client.cookies.set(SESSION_COOKIE, users.tokens["ta1"])
    listed = client.get("/staff/assignments/hw1p1-s20/similarity").text
    assert "Compared by their tokens only" in listed and "mytorch/extra.py" in listed
    assert f"submission {ids['bob']}" in listed and f"submission {ids['carol']}" not in listed
    pair = client.get(f"/staff/similarity/pairs/{copied.id}").text
    assert pair.count("Compared by its tokens only") == 1
    client.cookies.set(SESSION_COOKIE, users.tokens["bob"])
    assert client.get("/staff/assignments/hw1p1-s20/similarity").status_code == 403


def test_similarity_job_reads_the_handin_as_grading_did(ctx, handins, monkeypatch):
    """Under the service's own upload limit (grading's), so a hand-in graded under a raised
    limit is compared by the same files, not refused as over the default one."""
    seen = {}
    real = similarity.list_sources

    def spy(data, *, layout, max_bytes=None):
        seen["max_bytes"] = max_bytes
        return real(data, layout=layout, max_bytes=max_bytes)

    monkeypatch.setattr(similarity, "list_sources", spy)
    raised = dataclasses.replace(ctx, settings=dataclasses.replace(
        ctx.settings, upload_max_bytes=ctx.settings.upload_max_bytes * 2))
    sub_id = graded(ctx, handins["ref"], "alice")
    assert similarity.index(raised, kind="submission", ident=sub_id) == "compared"
    assert seen["max_bytes"] == raised.settings.upload_max_bytes
