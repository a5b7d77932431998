"""API latency under concurrent clients with a realistic database: 1,000 students × 10 graded
submissions (rows and real-sized reports inserted directly, not graded), the API as production
runs it (`mlpgrade serve --no-worker`, one API process per core) on PostgreSQL + Redis, and
`--clients` (50, then 200) async httpx clients hammering one endpoint at a time (closed loop).

    .venv/bin/python bench/api_latency.py [--students 1000] [--per-student 10]
                                          [--clients 50,200] [--requests 20] [--api-workers N]

Endpoints: the floor (GET /health, which reads nothing: what any request costs here), upload
(students, each their own), a student's result and own list, the TA dashboard page, stats, the
staff's submission list and gradebook.csv. No worker runs, so uploads stay queued. `alone` is
one client's five sequential calls first; errors are non-2xx answers, timeouts (60 s) and drops.
Prints p50/p95/p99/max per endpoint and its p99 over the floor's, and writes them to
docs/benchmarks.md. PostgreSQL and Redis: MLPGRADE_TEST_POSTGRES_URL and
MLPGRADE_TEST_REDIS_URL, as the tests.
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
from submissions_api.deps import SESSION_COOKIE
from submissions_api.store import crud
from submissions_api.store.db import dispose, session_factory
from submissions_api.store.migrate import upgrade
from submissions_api.store.models import User, utcnow
from submissions_api.store.models_grading import GradingRun, Submission
from submissions_api.store.rubrics import sync_rubrics
from submissions_api.store.summary import run_summary
from tests.api.services import (
    POSTGRES_URL,
    REDIS_URL,
    Proc,
    free_port,
    make_service_home,
    service_env,
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
    """`clients` concurrent clients, each making `requests` calls; latencies and non-2xx. The
    clients (and their connections' SSL contexts: 20-30 ms of CPU each, which blocked this event
    loop under every request in flight) are made before any request is timed."""
    latencies: list[float] = []
    errors = 0
    ssl = httpx.create_ssl_context()
    pool = [httpx.AsyncClient(base_url=base, timeout=60, verify=ssl) for _ in range(clients)]

    async def one_client(c: int, client: httpx.AsyncClient) -> None:
        nonlocal errors
        for r in range(requests):
            start = time.perf_counter()
            try:
                reply = await call(client, c, r)
                errors += not reply.is_success
            except httpx.HTTPError:  # a timeout or a dropped connection: an error
                errors += 1
            latencies.append(time.perf_counter() - start)

    try:
        await asyncio.gather(*(one_client(c, client) for c, client in enumerate(pool)))
    finally:
        await asyncio.gather(*(client.aclose() for client in pool))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--per-student", type=int, default=10)
    parser.add_argument("--clients", default="50,200", help="concurrent clients, comma-separated")
    parser.add_argument("--requests", type=int, default=20, help="per client and endpoint")
    parser.add_argument("--api-workers", type=int, default=os.cpu_count() or 1,
                        help="API processes (`mlpgrade serve`'s default: one per core)")
    parser.add_argument("--mixed-only", action="store_true",
                        help="only the floor, stats, and stats while half the clients upload "
                        "(printed, not written to docs/benchmarks.md)")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]

    url = make_url(POSTGRES_URL)
    name = f"mlpgrade_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(host=url.host, port=url.port or 5432, user=url.username,
                            password=url.password, dbname=url.database, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    db = url.set(database=name).render_as_string(hide_password=False)
    results: dict[int, list] = {}
    load = os.getloadavg()[0]
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
            api = Proc([str(Path(sys.executable).with_name("mlpgrade")), "serve", "--no-worker",
                        "--port", str(port), "--api-workers", str(args.api_workers)],
                       service_env(home, db, REDIS_URL), Path(tmp) / "api.log")
            try:
                base = f"http://127.0.0.1:{port}"
                wait_for(lambda: _up(base), 60, "the API", 0.2, (api,))
                for n in clients:
                    results[n] = asyncio.run(measure(base, seeded, tar, n, args.requests,
                                                     args.mixed_only))
            finally:
                api.stop()
                print("API log (last lines):", api.tail()[-1500:], sep="\n")
        finally:
            dispose(db)
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
    text_ = _tables(results)
    print(text_)
    if args.mixed_only:
        return
    write_doc("api_latency", f"`.venv/bin/python bench/api_latency.py --students {args.students} "
                             f"--per-student {args.per_student} --clients {args.clients} "
                             f"--requests {args.requests} --api-workers {args.api_workers}` "
                             f"(`mlpgrade serve --no-worker` with {args.api_workers} API "
                             f"processes, PostgreSQL + Redis, {os.cpu_count()} cores shared with "
                             f"the clients, load average before {load:.1f}):\n\n{text_}",
              "API latency under concurrent clients")


def _tables(results: dict[int, list]) -> str:
    """One table per client count; `÷ floor` is each endpoint's p99 over the floor's (a /health
    request measured in the same run at the same concurrency)."""
    out = []
    for n, rows in results.items():
        floor = percentile(rows[0][1], 0.99)
        out += [f"{n} clients:", "", "| endpoint | alone p50 ms | requests | errors | req/s "
                "| p50 ms | p95 ms | p99 ms | max ms | p99 ÷ floor |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for label, lat, errors, wall, alone in rows:
            p99 = percentile(lat, 0.99)
            out.append(f"| {label} | {percentile(alone, 0.5) * 1000:.0f} | {len(lat)} | "
                       f"{errors} | {len(lat) / wall:.1f} | {percentile(lat, 0.5) * 1000:.0f} | "
                       f"{percentile(lat, 0.95) * 1000:.0f} | {p99 * 1000:.0f} | "
                       f"{max(lat) * 1000:.0f} | {p99 / floor:.1f} |")
        out.append("")
    return "\n".join(out).rstrip()


def _up(base: str) -> bool:
    try:
        return httpx.get(base + "/health", timeout=2).is_success
    except httpx.HTTPError:
        return False


async def measure(base: str, seeded: dict, tar: bytes, clients: int, requests: int,
                  mixed_only: bool = False) -> list:
    """Each endpoint in turn under `clients` closed-loop clients; the floor first (with
    `mixed_only`, only it and stats before the mix)."""
    tokens, own = seeded["tokens"], seeded["own"]
    logins = sorted(own)
    api = base + "/api/v1"

    def auth(login: str) -> dict:
        return {"Authorization": f"Bearer {tokens[login]}"}

    def student(i: int, r: int) -> str:
        return logins[(i * 7 + r) % len(logins)]

    calls = {
        "GET /health (the floor)": lambda c, i, r: c.get(base + "/health"),
        "POST upload (student)": lambda c, i, r: c.post(
            api + "/assignments/hw1p1-s20/submissions", headers=auth(student(i, r)),
            files={"file": ("handin.tar", tar)}),
        "GET result (student, own)": lambda c, i, r: c.get(
            f"{api}/submissions/{own[student(i, r)]}", headers=auth(student(i, r))),
        "GET own list (student)": lambda c, i, r: c.get(
            api + "/submissions", params={"assignment": "hw1p1-s20"},
            headers=auth(student(i, r))),
        "GET TA dashboard (page)": lambda c, i, r: c.get(
            base + "/staff/assignments/hw1p1-s20", cookies={SESSION_COOKIE: tokens["ta"]}),
        "GET stats (TA)": lambda c, i, r: c.get(
            api + "/assignments/hw1p1-s20/stats", headers=auth("ta")),
        "GET submissions list, 100 (TA)": lambda c, i, r: c.get(
            api + "/submissions", params={"assignment": "hw1p1-s20", "limit": 100},
            headers=auth("ta")),
        "GET gradebook.csv (TA)": lambda c, i, r: c.get(
            api + "/assignments/hw1p1-s20/gradebook.csv", headers=auth("ta")),
    }
    results = []
    for label, call in calls.items():
        if mixed_only and label not in ("GET /health (the floor)", "GET stats (TA)"):
            continue
        alone, _ = await hammer(base, 1, 5, call)  # one client: the request's own cost
        start = time.perf_counter()
        lat, errors = await hammer(base, clients, requests, call)
        wall = time.perf_counter() - start
        print(f"{clients} clients: {label} p99 {percentile(lat, 0.99) * 1000:.0f} ms, "
              f"{errors} non-2xx", flush=True)
        results.append((label, lat, errors, wall, alone))
    # The deadline's mix: half the clients upload while the other half read the statistics,
    # which every upload changes (each read then waits for one recomputation at most).
    start = time.perf_counter()
    (lat, errors), _ = await asyncio.gather(
        hammer(base, clients // 2, requests, calls["GET stats (TA)"]),
        hammer(base, clients - clients // 2, requests, calls["POST upload (student)"]))
    results.append(("GET stats (TA) while half the clients upload", lat, errors,
                    time.perf_counter() - start,
                    next(r[4] for r in results if r[0] == "GET stats (TA)")))
    return results


if __name__ == "__main__":
    main()
