"""Throughput and latency of the whole service: a burst of N hand-ins, upload → graded.

    .venv/bin/python bench/burst.py [--n 500] [--workers 1,2] [--stacks embedded,pg-redis]
                                    [--clients 20] [--empty 20] [--mix realistic|reference]

For each stack (the embedded default: SQLite + kombu's sqla broker; PostgreSQL + Redis) and each
worker count, it starts the API (uvicorn) and that many `python -m worker` processes (concurrency
1, one sandbox slot each), uploads N hand-ins from `--clients` concurrent clients (a realistic
mix: correct, buggy, crashing, hanging, hostile) and waits until every one is graded. Latency is
the server's received_at → the graded run's finished_at; throughput is N over first receipt →
last result. Then, with an empty queue, `--empty` single uploads one after another (reference
hand-in; client-side upload → graded seen by polling every 50 ms).

PostgreSQL and Redis: MLPGRADE_TEST_POSTGRES_URL and MLPGRADE_TEST_REDIS_URL, as the tests (a
fresh database and a fresh queue prefix per run). Workers grade with the production timings
(lease 60 s, reaper every 10 s) and the assignment's training run, as `mlpgrade serve` does.
The `serve` stack is `mlpgrade serve` as installed (embedded database and broker, its own
workers: one grading slot per core); `--workers` does not apply to it. `--mix reference` sends
only reference hand-ins. The floor (bench/floor.py, the scenarios in one warm process) is
measured in the same run, and each burst is also given as a share of the machine's limit, cores
× 60 s / floor hand-ins a minute. Prints a table and writes it to docs/benchmarks.md between
markers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from submissions_api import security
from submissions_api.store import crud
from submissions_api.store.db import dispose, session_factory
from submissions_api.store.migrate import upgrade
from submissions_api.store.models_grading import GradingRun, Submission
from submissions_api.store.rubrics import sync_rubrics
from tests.api.services import (
    POSTGRES_URL,
    REDIS_URL,
    Proc,
    free_port,
    make_service_home,
    seed_golden_set,
    service_env,
    start_api,
    start_worker,
    wait_for,
)
from tests.e2e.stack import MLPGRADE
from tests.handins import in_question_1, make_handin_tar

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floor import floor_seconds

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
# (kind, share of the burst, hand-in). Hanging costs one test's 20 s limit; hostile is the
# 20 GiB allocation the cgroup kills; crashing raises at import of one module.
MIX = [
    ("correct", 50, lambda: make_handin_tar()),
    ("buggy", 30, lambda: make_handin_tar(bugs=("linear_dw_summed",))),
    ("crashing", 10, lambda: make_handin_tar(edits={"mytorch/loss.py": (
        "import numpy as np", "import numpy as np\nraise RuntimeError('work in progress')")})),
    ("hanging", 5, lambda: make_handin_tar(edits=in_question_1(
        "import time\nwhile True:\n    time.sleep(1)"))),
    ("hostile", 5, lambda: make_handin_tar(edits=in_question_1(
        "import numpy as np\nx = np.ones(20 * 2**30 // 8)"))),
]


def burst_items(n: int, mix: str = "realistic") -> list[tuple[str, bytes]]:
    """n hand-ins in the MIX's proportions, interleaved (deterministic); or n references."""
    if mix == "reference":
        return [("correct", make_handin_tar())] * n
    tars = {kind: make() for kind, _, make in MIX}
    slots = [kind for kind, share, _ in MIX for _ in range(share)]
    step = 37  # coprime with 100: spreads each kind over the burst
    return [(slots[(i * step) % 100], tars[slots[(i * step) % 100]]) for i in range(n)]


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


class Service:
    """API and workers on one stack, with a fresh database and queue prefix."""

    def __init__(self, stack: str, workers: int, golden_home: Path, tmp: Path) -> None:
        self.tmp = tmp
        home = tmp / "home"
        shutil.copytree(golden_home / "golden", home / "golden")
        if stack in ("embedded", "serve"):
            db, broker = f"sqlite:///{home / 'service.db'}", f"sqla+sqlite:///{home / 'broker.db'}"
        else:
            import psycopg
            from sqlalchemy.engine import make_url

            url = make_url(POSTGRES_URL)
            self.pg_name = f"mlpgrade_bench_{uuid.uuid4().hex[:10]}"
            self.admin = psycopg.connect(host=url.host, port=url.port or 5432, user=url.username,
                                         password=url.password, dbname=url.database,
                                         autocommit=True)
            self.admin.execute(f'CREATE DATABASE "{self.pg_name}"')
            db = url.set(database=self.pg_name).render_as_string(hide_password=False)
            broker = REDIS_URL
        upgrade(db)
        self.env = service_env(home, db, broker, MLPGRADE_LEASE_SECONDS="60",
                               MLPGRADE_REAPER_INTERVAL="10", MLPGRADE_REQUEUE_AFTER="120",
                               MLPGRADE_RETRY_BACKOFF="10", MLPGRADE_POLLING_INTERVAL="0.1")
        self.db = db
        self.sessions = session_factory(db)
        with self.sessions() as session:
            sync_rubrics(session)
            self.tokens = []
            for i in range(50):
                user = crud.create_user(session, login=f"student{i:02d}")
                self.tokens.append(security.issue_token(session, user=user))
            session.commit()
        # The service grades only with the database's active set: the session's, as uploaded.
        seed_golden_set(db, home)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/api/v1"
        if stack == "serve":  # as installed: the embedded defaults, serve's own workers
            env = {k: v for k, v in self.env.items()
                   if k not in ("MLPGRADE_DATABASE_URL", "MLPGRADE_BROKER_URL")}
            self.procs: list[Proc] = [Proc([*MLPGRADE, "serve", "--port", str(port)], env,
                                           tmp / "serve.log")]
            # serve makes the golden sets the database lacks first (a minute each, more under load)
            try:
                wait_for(self._healthy, 300, "mlpgrade serve", 0.2, tuple(self.procs))
            except BaseException:  # no caller holds this service yet to stop it
                self.stop()
                raise
            time.sleep(3)
            return
        self.procs = [start_api(self.env, tmp / "api.log", port)]
        wait_for(self._healthy, 30, "the API", 0.2, tuple(self.procs))
        for i in range(workers):
            self.procs.append(start_worker(self.env, tmp / f"worker-{i}.log", "live"))
        time.sleep(3)  # let the workers connect before the burst

    def _healthy(self) -> bool:
        try:
            return httpx.get(self.url.rsplit("/api", 1)[0] + "/health", timeout=2).is_success
        except httpx.HTTPError:
            return False

    def upload(self, i: int, data: bytes) -> int:
        with httpx.Client(base_url=self.url, timeout=120, headers={
                "Authorization": f"Bearer {self.tokens[i % len(self.tokens)]}"}) as client:
            reply = client.post("/assignments/hw1p1-s20/submissions",
                                files={"file": ("handin.tar", data)})
        reply.raise_for_status()
        return reply.json()["id"]

    def done(self, ids: list[int]) -> int:
        with self.sessions() as session:
            return session.query(Submission).filter(Submission.id.in_(ids), Submission.status.in_(
                ("graded", "failed"))).count()

    def timings(self, ids: list[int]) -> tuple[list[float], float, Counter]:
        """Per submission received → graded seconds; first receipt → last result; outcomes."""
        with self.sessions() as session:
            subs = {s.id: s for s in session.query(Submission).filter(Submission.id.in_(ids))}
            runs = session.query(GradingRun).filter(GradingRun.submission_id.in_(ids)).all()
        outcomes = Counter(r.outcome for r in runs)
        outcomes.update(f"status {s.status}" for s in subs.values())
        final = {r.submission_id: r.finished_at for r in runs if r.outcome == "graded"}
        lat = [(final[i] - subs[i].received_at).total_seconds() for i in ids if i in final]
        span = (max(final.values()) - min(s.received_at for s in subs.values())).total_seconds()
        return lat, span, outcomes

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()
        dispose(self.db)
        if hasattr(self, "admin"):
            self.admin.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            self.admin.close()


def run_burst(service: Service, items: list[tuple[str, bytes]], clients: int) -> dict:
    with ThreadPoolExecutor(clients) as pool:
        ids = list(pool.map(lambda i: service.upload(i, items[i][1]), range(len(items))))
    wait_for(lambda: service.done(ids) == len(ids), 6 * 3600, "the burst graded", 1.0,
             tuple(service.procs))
    lat, span, outcomes = service.timings(ids)
    return {"n": len(ids), "per_min": len(ids) / span * 60, "p50": percentile(lat, 0.5),
            "p95": percentile(lat, 0.95), "max": max(lat), "outcomes": outcomes}


def run_empty(service: Service, runs: int) -> list[float]:
    data = make_handin_tar()
    times = []
    for i in range(runs):
        start = time.perf_counter()
        sub = service.upload(i, data)
        wait_for(lambda sub=sub: service.done([sub]) == 1, 300, "a single upload graded", 0.05,
                 tuple(service.procs))
        times.append(time.perf_counter() - start)
    return times


def write_doc(marker: str, block: str, heading: str) -> None:
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{start}\n{block}\n{end}"
    if start in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n{block}\n"
    DOC.write_text(text)


def burst_table(rows: list, floors: list[float]) -> list[str]:
    """The bursts' rows, each also as a share of the cores × 60 s / floor limit."""
    floor = statistics.median(floors)
    limit = (os.cpu_count() or 1) * 60 / floor
    shown_floors = [round(f, 3) for f in floors]
    table = [f"Floor {floor * 1000:.0f} ms (median of {shown_floors}), so the "
             f"{os.cpu_count()}-core "
             f"limit is {limit:.0f} hand-ins a minute.", "",
             "| stack | workers | hand-ins | per minute | % of limit | p50 s | p95 s | max s "
             "| runs |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for stack, workers, r in rows:
        runs = ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items()))
        shown = "serve" if stack == "serve" else workers
        table.append(f"| {stack} | {shown} | {r['n']} | {r['per_min']:.1f} | "
                     f"{100 * r['per_min'] / limit:.0f} % | {r['p50']:.1f} | "
                     f"{r['p95']:.1f} | {r['max']:.1f} | {runs} |")
    return table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500, help="hand-ins in each burst")
    parser.add_argument("--workers", default="1,2", help="worker counts to run")
    parser.add_argument("--stacks", default="embedded,pg-redis")
    parser.add_argument("--clients", type=int, default=20, help="concurrent uploading clients")
    parser.add_argument("--empty", type=int, default=20, help="single uploads, empty queue")
    parser.add_argument("--mix", default="realistic", choices=("realistic", "reference"))
    args = parser.parse_args()
    items = burst_items(args.n, args.mix)
    mix = Counter(kind for kind, _ in items)
    load = os.getloadavg()[0]
    rows, empty_rows = [], []
    with tempfile.TemporaryDirectory(prefix="mlpgrade-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o711)  # the sandbox's uid reads MLPGRADE_HOME/data (training run)
        golden_home = make_service_home(root / "golden-home")
        floors = [floor_seconds()]
        for stack in args.stacks.split(","):
            for workers in ([0] if stack == "serve" else
                            (int(w) for w in args.workers.split(","))):
                work = root / f"{stack}-{workers}"
                service = Service(stack, workers, golden_home, work)
                try:
                    r = run_burst(service, items, args.clients)
                    print(stack, workers, r, flush=True)
                    rows.append((stack, workers, r))
                    if args.empty and workers <= 1:
                        times = run_empty(service, args.empty)
                        print(stack, "empty", times, flush=True)
                        empty_rows.append((stack, times))
                finally:
                    service.stop()
        floors.append(floor_seconds())
    table = burst_table(rows, floors)
    if empty_rows:
        table += ["", "Empty queue, one upload at a time (reference hand-in, upload → graded seen "
                  "by the client):", "", "| stack | uploads | p50 s | p95 s | max s |",
                  "| --- | ---: | ---: | ---: | ---: |"]
    for stack, times in empty_rows:
        table.append(f"| {stack} | {len(times)} | {statistics.median(times):.2f} | "
                     f"{percentile(times, 0.95):.2f} | {max(times):.2f} |")
    text = "\n".join(table)
    print(text)
    mix_text = ", ".join(f"{k} {v}" for k, v in mix.items())
    write_doc(f"burst-{args.mix}",
              f"`.venv/bin/python bench/burst.py --n {args.n} --workers {args.workers} "
                       f"--stacks {args.stacks} --clients {args.clients} --empty {args.empty} "
                       f"--mix {args.mix}` "
                       f"({os.cpu_count()} cores, load average {load:.1f} before; mix: {mix_text}):"
                       f"\n\n{text}",
              f"Burst ({args.mix}): upload → graded")


if __name__ == "__main__":
    main()
