"""API latency under concurrent clients with a realistic database: 1,000 students × 10 graded
submissions (rows inserted directly, not graded), the API as a real uvicorn process on
PostgreSQL + Redis, and `--clients` (50) async httpx clients hammering one endpoint at a time.

    .venv/bin/python bench/api_latency.py [--students 1000] [--per-student 10] [--clients 50]
                                          [--requests 20]

Endpoints: upload (students, each their own), result (a student's own submission), stats and
the staff's submission list (the TA dashboard's calls), gradebook.csv. No worker runs, so
uploads stay queued. The whole-class reads (stats, gradebook) get a tenth of the requests.
`alone` is one client's five sequential calls first; errors are non-2xx answers, timeouts (60 s)
and drops. Prints p50/p95/p99/max per endpoint and writes them to docs/benchmarks.md.
PostgreSQL and Redis: MLPGRADE_TEST_POSTGRES_URL and MLPGRADE_TEST_REDIS_URL, as the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psycopg
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from bench.burst import percentile, write_doc
from grader.golden.store import LocalGoldenStore
from grader.grade import grade_handin
from grader.sandbox import get_sandbox
from submissions_api import security
from submissions_api.store import crud
from submissions_api.store.db import dispose, session_factory
from submissions_api.store.migrate import upgrade
from submissions_api.store.models import GradingRun, Submission, User, utcnow
from submissions_api.store.rubrics import sync_rubrics
from submissions_api.store.summary import run_summary
from tests.api.services import (
    POSTGRES_URL,
    REDIS_URL,
    free_port,
    make_service_home,
    service_env,
    start_api,
    wait_for,
)
from tests.handins import make_handin_tar


def real_report(home: Path) -> dict:
    """The report of grading our reference once (process sandbox, no training run): the size
    and shape every stored run gets."""
    golden = LocalGoldenStore(home / "golden").current("hw1p1-s20")
    return grade_handin(make_handin_tar(), assignment="hw1p1-s20", golden=golden,
                        sandbox=get_sandbox("process"),
                        training=False).to_dict()


def seed(db: str, students: int, per_student: int, report: dict, tar: bytes) -> dict:
    """Users, tokens (every student and one TA) and graded submissions with runs, in bulk."""
    sessions = session_factory(db)
    now = utcnow()
    with sessions() as session:
        sync_rubrics(session)
        assignment = crud.get_assignment(session, slug="hw1p1-s20")
        sha = crud.put_blob(session, data=tar)
        ta = crud.create_user(session, login="ta", role="ta")
        tokens = {"ta": security.issue_token(session, user=ta)}
        session.execute(insert(User), [{"login": f"s{i:04d}", "name": f"Student {i}",
                                        "role": "student"} for i in range(students)])
        users = dict(session.execute(text("SELECT login, id FROM users WHERE role = 'student'"))
                     .all())
        for login, uid in users.items():
            tokens[login] = security.issue_token(session, user=session.get(User, uid))
        rows = []
        for uid in users.values():
            for k in range(per_student):
                at = now - timedelta(hours=per_student - k, minutes=uid % 60)
                rows.append({"user_id": uid, "assignment_id": assignment.id, "blob_sha256": sha,
                             "size": len(tar), "received_at": at, "enqueued_at": at,
                             "status": "graded", "score": float(random.choice((95, 90, 85, 30)))})
        session.execute(insert(Submission), rows)
        subs = session.execute(text("SELECT id, score FROM submissions")).all()
        session.execute(insert(GradingRun), [
            {"submission_id": sid, "attempt": 1, "outcome": "graded", "score": score,
             "max_score": 95.0, "report": {**report, "score": score},
             "summary": run_summary(report), "started_at": now,
             "finished_at": now, "worker": "bench"} for sid, score in subs])
        session.execute(text("UPDATE submissions SET current_run_id = r.id FROM grading_runs r "
                             "WHERE r.submission_id = submissions.id"))
        own = dict(session.execute(text(
            "SELECT u.login, min(s.id) FROM submissions s JOIN users u ON u.id = s.user_id "
            "GROUP BY u.login")).all())
        session.commit()
    dispose(db)
    return {"tokens": tokens, "own": own}


async def hammer(base: str, clients: int, requests: int,
                 call) -> tuple[list[float], int]:
    """`clients` concurrent clients, each making `requests` calls; latencies and non-2xx."""
    latencies: list[float] = []
    errors = 0

    async def one_client(c: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            for r in range(requests):
                start = time.perf_counter()
                try:
                    reply = await call(client, c, r)
                    errors += not reply.is_success
                except httpx.HTTPError:  # a timeout or a dropped connection: an error
                    errors += 1
                latencies.append(time.perf_counter() - start)

    await asyncio.gather(*(one_client(c) for c in range(clients)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--per-student", type=int, default=10)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="per client and endpoint")
    args = parser.parse_args()

    url = make_url(POSTGRES_URL)
    name = f"mlpgrade_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(host=url.host, port=url.port or 5432, user=url.username,
                            password=url.password, dbname=url.database, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    db = url.set(database=name).render_as_string(hide_password=False)
    results = []
    with tempfile.TemporaryDirectory(prefix="mlpgrade-bench-") as tmp:
        home = make_service_home(Path(tmp))
        try:
            upgrade(db)
            tar = make_handin_tar()
            start = time.perf_counter()
            seeded = seed(db, args.students, args.per_student, real_report(home), tar)
            print(f"seeded {args.students * args.per_student} submissions in "
                  f"{time.perf_counter() - start:.1f} s", flush=True)
            port = free_port()
            api = start_api(service_env(home, db, REDIS_URL), Path(tmp) / "api.log", port)
            try:
                base = f"http://127.0.0.1:{port}"
                wait_for(lambda: _up(base), 30, "the API", 0.2, (api,))
                results = asyncio.run(measure(base + "/api/v1", seeded, tar, args))
            finally:
                api.stop()
                print("API log (last lines):", api.tail()[-1500:], sep="\n")
        finally:
            dispose(db)
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
    table = ["| endpoint | alone p50 ms | requests | errors | req/s | p50 ms | p95 ms | p99 ms "
             "| max ms |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, lat, errors, wall, alone in results:
        table.append(f"| {label} | {percentile(alone, 0.5) * 1000:.0f} | {len(lat)} | {errors} | "
                     f"{len(lat) / wall:.1f} | "
                     f"{percentile(lat, 0.5) * 1000:.0f} | {percentile(lat, 0.95) * 1000:.0f} | "
                     f"{percentile(lat, 0.99) * 1000:.0f} | {max(lat) * 1000:.0f} |")
    text_ = "\n".join(table)
    print(text_)
    write_doc("api_latency", f"`.venv/bin/python bench/api_latency.py --students {args.students} "
                             f"--per-student {args.per_student} --clients {args.clients} "
                             f"--requests {args.requests}` (one uvicorn process, PostgreSQL + "
                             f"Redis, {os.cpu_count()} cores, load average before "
                             f"{os.getloadavg()[0]:.1f}):\n\n{text_}",
              "API latency under concurrent clients")


def _up(base: str) -> bool:
    try:
        return httpx.get(base + "/health", timeout=2).is_success
    except httpx.HTTPError:
        return False


async def measure(api: str, seeded: dict, tar: bytes, args) -> list:
    tokens, own = seeded["tokens"], seeded["own"]
    logins = sorted(own)

    def auth(login: str) -> dict:
        return {"Authorization": f"Bearer {tokens[login]}"}

    calls = {
        "POST upload (student)": lambda c, i, r: c.post(
            "/assignments/hw1p1-s20/submissions", headers=auth(logins[i]),
            files={"file": ("handin.tar", tar)}),
        "GET result (student, own)": lambda c, i, r: c.get(
            f"/submissions/{own[logins[(i * 7 + r) % len(logins)]]}",
            headers=auth(logins[(i * 7 + r) % len(logins)])),
        "GET stats (TA dashboard)": lambda c, i, r: c.get(
            "/assignments/hw1p1-s20/stats", headers=auth("ta")),
        "GET submissions list, 100 (TA)": lambda c, i, r: c.get(
            "/submissions", params={"assignment": "hw1p1-s20", "limit": 100},
            headers=auth("ta")),
        "GET gradebook.csv (TA)": lambda c, i, r: c.get(
            "/assignments/hw1p1-s20/gradebook.csv", headers=auth("ta")),
    }
    heavy = {"GET stats (TA dashboard)", "GET gradebook.csv (TA)"}  # whole-class reads
    results = []
    for label, call in calls.items():
        alone, _ = await hammer(api, 1, 5, call)  # one client: the request's own cost
        requests = max(1, args.requests // 10) if label in heavy else args.requests
        start = time.perf_counter()
        lat, errors = await hammer(api, args.clients, requests, call)
        wall = time.perf_counter() - start
        print(label, f"p99 {percentile(lat, 0.99) * 1000:.0f} ms, {errors} non-2xx", flush=True)
        results.append((label, lat, errors, wall, alone))
    return results


if __name__ == "__main__":
    main()
