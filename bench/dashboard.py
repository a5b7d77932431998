"""The TA dashboard at class size: 400 students seeded in bulk (submissions, runs whose summaries
fall in realistic failure clusters, manual points, late hand-ins, extensions), then the dashboard
page loaded N times in-process; prints its size and server time (median, p95) per view.

    .venv/bin/python bench/dashboard.py [--students 400] [--loads 30] [--database-url URL]

Without --database-url a fresh SQLite file is used. `first` is the first load after the class
changed (the class views are computed); the others are later loads (kept until the class changes,
services/classviews.py). tests/pages/test_dashboard_pages.py seeds its class with `seed_class` and
its similarity group with `seed_copies`."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, update

from grader.fixtures import make_tar, reference_files
from grader.results import GradeReport, OutputCheck, TestResult, TestStatus
from grader.rubric import load_assignment
from grader.similarity.fingerprint import fingerprint
from submissions_api.services.dashboard import class_table
from submissions_api.store import crud
from submissions_api.store.db import dispose, session_factory
from submissions_api.store.models import Extension, User, utcnow
from submissions_api.store.models_grading import GradingRun, Submission
from submissions_api.store.models_manual import ManualGrade
from submissions_api.store.models_similarity import EntrySource, SimilarityEntry
from submissions_api.store.summary import run_summary

PROFILES = [
    # (share of graded students, failed tests, first message with a {n} that varies)
    (0.40, (), ""),
    (0.14, ("linear_layer_backward", "linear_classifier_backward", "linear_classifier_step"),
     "dW has shape (10, {n}), expected ({n}, 10): did you transpose?"),
    (0.10, ("softmax_cross_entropy_derivative", "linear_classifier_backward"),
     "derivative values differ from the expected at {n} of 40 positions"),
    (0.08, ("batch_norm_train", "batch_norm_inference"),
     "norm values differ from the expected at {n} of 1280 positions"),
    (0.08, ("tanh_forward", "tanh_derivative"),
     "state values differ from the expected at {n} of 100 positions"),
    (0.06, ("sigmoid_derivative", "single_hidden_backward"),
     "derivative values differ from the expected at {n} of 100 positions"),
    (0.14, ("batch_norm_inference",),
     "inference values differ from the expected at {n} of 1280 positions"),
]
EARLIER = "Your code raised SyntaxError: invalid syntax (mytorch/linear.py, line {n})"
"""Why every test of a student's earlier submissions failed (the last one counts, the best)."""
"""Failure profiles of the seeded counted runs (their tests and the rubric's real dependants
make the clusters); relu_derivative is left to real hand-ins (the pages test's hint)."""


def _report(tests, profile: int | None, rng: random.Random) -> GradeReport:
    """A report whose tests fail as the profile says (None: all, as an earlier submission)."""
    failing = PROFILES[profile][1] if profile is not None else {t.id for t in tests}
    text = (PROFILES[profile][2] if profile is not None else EARLIER).format(
        n=rng.randint(2, 39))
    status = TestStatus.OK if profile is not None else TestStatus.ERROR
    out = tuple(TestResult(
        id=t.id, name=t.name, points=0.0 if t.id in failing else t.points, max_points=t.points,
        passed=t.id not in failing, status=status,
        feedback="" if status == TestStatus.OK else text,
        checks=() if t.id not in failing or status != TestStatus.OK else
        (OutputCheck(name="out", passed=False, message=text),)) for t in tests)
    return GradeReport(assignment="hw1p1-s20", golden_version="seed",
                       score=float(sum(t.points for t in out)),
                       max_score=float(sum(t.max_points for t in out)), tests=out)


def _plan(logins: list[str], rng: random.Random, now, kinds: dict[str, list[str]]) -> list:
    """Each student's submissions: (login, is the last, profile, late, received at)."""
    plan = []
    for login in logins:
        count = 0 if rng.random() < 0.1 else rng.choice((1, 1, 2, 3))
        profile = rng.choices(range(len(PROFILES)), [p[0] for p in PROFILES])[0]
        late = rng.random() < 0.1
        for k in range(count):
            at = now - timedelta(hours=count - k, minutes=rng.randint(0, 59))
            plan.append((login, k == count - 1, profile if k == count - 1 else None, late, at))
        kinds.setdefault("not-submitted" if not count else "submitted", []).append(login)
    return plan


def seed_class(url: str, slug: str = "hw1p1-s20", students: int = 400, prefix: str = "s",
               seed: int = 11785) -> dict[str, list[str]]:
    """`students` students with 0-3 submissions each, in bulk; returns logins by what they
    are (graded, awaiting manual, not submitted, late, extension, profile index)."""
    rng, now = random.Random(seed), utcnow()
    tests = load_assignment(slug).tests
    manual = [m.id for m in load_assignment(slug).manual]
    kinds: dict[str, list[str]] = {}
    with session_factory(url)() as session:
        assignment = crud.get_assignment(session, slug=slug)
        tar = make_tar(reference_files(load_assignment(slug)))
        sha = crud.put_blob(session, data=tar)
        logins = [f"{prefix}{i:04d}" for i in range(students)]
        ids = dict(zip(logins, session.scalars(insert(User).returning(User.id), [
            {"login": login, "name": f"Student {login[len(prefix):]}", "role": "student"}
            for login in logins]), strict=True))
        plan = _plan(logins, rng, now, kinds)
        sub_ids = list(session.scalars(insert(Submission).returning(Submission.id), [
            {"user_id": ids[login], "assignment_id": assignment.id, "blob_sha256": sha,
             "size": len(tar), "received_at": at, "enqueued_at": at, "status": "graded",
             "late": late and last, "late_penalty": 0.1 if late and last else 0.0}
            for login, last, _, late, at in plan]))
        reports = [_report(tests, profile, rng) for _, _, profile, _, _ in plan]
        run_ids = list(session.scalars(insert(GradingRun).returning(GradingRun.id), [
            {"submission_id": sid, "attempt": 1, "outcome": "graded", "score": r.score,
             "max_score": assignment.max_score, "report": r.to_dict(), "summary": run_summary(r),
             "started_at": now, "finished_at": now, "worker": "seed"}
            for sid, r in zip(sub_ids, reports, strict=True)]))
        session.execute(update(Submission), [
            {"id": sid, "current_run_id": rid, "score": r.score}
            for sid, rid, r in zip(sub_ids, run_ids, reports, strict=True)])
        graded = {}
        for (login, last, profile, late, _), sid in zip(plan, sub_ids, strict=True):
            if last:
                graded[login] = sid
                kinds.setdefault(f"profile-{profile}", []).append(login)
                if late:
                    kinds.setdefault("late", []).append(login)
        given = [login for login in graded if rng.random() < 0.6]
        kinds["awaiting-manual"] = sorted(set(graded) - set(given))
        if given and manual:
            session.execute(insert(ManualGrade), [
                {"user_id": ids[login], "assignment_id": assignment.id,
                 "submission_id": graded[login], "item_id": item, "points": 4.0, "comment": ""}
                for login in given for item in manual])
        kinds["extension"] = rng.sample(logins, max(students // 20, 1))
        session.execute(insert(Extension), [
            {"assignment_id": assignment.id, "user_id": ids[login],
             "deadline": now + timedelta(days=2), "reason": "seeded"}
            for login in kinds["extension"]])
        session.commit()
    dispose(url)
    return kinds


def seed_copies(url: str, slug: str = "hw1p1-s20", copies: int = 5, prefix: str = "copy"
                ) -> list[str]:
    """`copies` students whose graded hand-ins are renamed and reordered copies of one original,
    with their similarity entries and pairs computed as the worker's job does (compare_entry)."""
    from bench.similarity import corpus, transforms
    from worker.similarity import compare_entry

    original = corpus.originals()["v1"]
    layout = load_assignment(slug).handin
    logins = [f"{prefix}{i}" for i in range(copies)]
    with session_factory(url)() as session:
        assignment = crud.get_assignment(session, slug=slug)
        entries = []
        for i, login in enumerate(logins):
            files = transforms.reorder(transforms.rename(original, 1 + i % 3, random.Random(i)),
                                       1 + i % 2, random.Random(100 + i))
            user = crud.create_user(session, login=login, name=f"Copy {i}")
            tar = make_tar(files, layout)
            sub = Submission(user_id=user.id, assignment_id=assignment.id,
                             blob_sha256=crud.put_blob(session, data=tar), size=len(tar),
                             status="graded", score=95.0)
            session.add(sub)
            session.flush()
            entries.append(SimilarityEntry(
                assignment_id=assignment.id, source=EntrySource.SUBMISSION, student=login,
                submission_id=sub.id, user_id=user.id, prints=fingerprint(files).to_dict()))
        session.add_all(entries)
        session.flush()
        for entry in entries:
            compare_entry(session, entry)
        session.commit()
    dispose(url)
    return logins


def _measure(client, path: str, loads: int, change=None) -> tuple[int, float, float, float]:
    """(bytes, first load ms, median ms, p95 ms of the later loads); `change()` before each
    load makes it one after a class change."""
    times, size = [], 0
    for _ in range(loads + 1):
        if change:
            change()
        start = time.perf_counter()
        reply = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert reply.status_code == 200, reply.text[:500]
        size = len(reply.content)
    later = sorted(times[1:])
    return size, times[0], statistics.median(later), later[int(0.95 * (len(later) - 1))]


def _change(url: str) -> None:
    """A write the class views read (a student's name): the next load computes them again."""
    with session_factory(url)() as session:
        session.execute(update(User).where(User.login == "s0000").values(
            name=f"Student 0000 {time.monotonic()}"))
        session.commit()


def main() -> None:
    from fastapi.testclient import TestClient

    from submissions_api import security
    from submissions_api.deps import SESSION_COOKIE
    from submissions_api.main import create_app
    from submissions_api.settings import Settings
    from submissions_api.store.migrate import upgrade
    from submissions_api.store.rubrics import sync_rubrics

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=400)
    parser.add_argument("--loads", type=int, default=30)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    url = args.database_url or f"sqlite:///{tmp / 'service.db'}"
    upgrade(url)
    with session_factory(url)() as session:
        sync_rubrics(session)
        ta = crud.create_user(session, login="bench_ta", role="ta")
        token = security.issue_token(session, user=ta)
        session.commit()
    start = time.perf_counter()
    kinds = seed_class(url, students=args.students)
    seeded = time.perf_counter() - start
    with session_factory(url)() as session:
        top = class_table(session, crud.get_assignment(session, slug="hw1p1-s20")).clusters[0]
    settings = Settings(home=tmp / "home", database_url=url, broker_url=f"sqla+sqlite:///{tmp}/b")
    with TestClient(create_app(settings)) as client:
        client.cookies.set(SESSION_COOKIE, token)
        base = "/staff/assignments/hw1p1-s20"
        views = [("everyone", base), ("awaiting manual", base + "?show=awaiting-manual"),
                 ("fails a test", base + "?fails=batch_norm_inference"),
                 ("one failure cluster", base + f"?cluster={top['key']}"),
                 ("search", base + "?q=s01"),
                 ("sorted by best, page 3", base + "?sort=best&page=3")]
        print(f"{args.students} students seeded in {seeded:.1f} s "
              f"({sum(len(v) for k, v in kinds.items() if k.startswith('profile'))} graded); "
              f"{args.loads} loads per view after the first")
        print(f"{'view':<26}{'KB':>8}{'first ms':>10}{'median ms':>11}{'p95 ms':>9}")
        for name, path in views:
            size, first, median, p95 = _measure(client, path, args.loads)
            print(f"{name:<26}{size / 1024:>8.1f}{first:>10.0f}{median:>11.0f}{p95:>9.0f}")
        size, first, median, p95 = _measure(client, base, args.loads, lambda: _change(url))
        print(f"{'everyone, class changed':<26}{size / 1024:>8.1f}{first:>10.0f}{median:>11.0f}"
              f"{p95:>9.0f}")
    dispose(url)


if __name__ == "__main__":
    main()
