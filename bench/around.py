"""What the service costs around one grading: the worker's task, phase by phase, on both stacks.

    .venv/bin/python bench/around.py [--n 30] [--stacks sqlite,postgresql] [--jobs]

For each stack (SQLite + the embedded sqla broker; PostgreSQL + Redis, from
MLPGRADE_TEST_POSTGRES_URL and MLPGRADE_TEST_REDIS_URL as the tests), a fresh database with the
session's golden set active, N reference hand-ins submitted, and one worker context in this
process with a warm bwrap slot (the first grading is a warm-up, not counted). Each hand-in goes
through `worker.grading.grade_submission` as the live worker runs it, with every phase timed
where the worker calls it: reading the submission to see its golden set, the claim, the
lease's heartbeat, the active golden set, `grade_handin` itself (the sandbox and the
comparison), the progress commits, recording the run and the broker messages sent after the
commit. "rest" is the task's time no phase accounts for. `--jobs` then runs the bulk jobs each
graded hand-in spawned (its training run and its similarity job), as the bulk worker would,
and times them. Prints a table per stack (median and p95 in ms, share of the task's time).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event
from sqlalchemy.engine import Engine

from grader.sandbox import get_sandbox
from submissions_api.jobs import Dispatcher
from submissions_api.settings import Settings
from submissions_api.store import crud
from submissions_api.store.db import dispose, session_factory
from submissions_api.store.models import utcnow
from submissions_api.store.rubrics import sync_rubrics
from tests.api.services import (
    REDIS_URL,
    PostgresDatabases,
    SqliteDatabases,
    make_service_home,
    seed_golden_set,
    service_env,
)
from tests.handins import make_handin_tar
from worker import grading, similarity, training
from worker.context import WorkerContext

#: The worker's own functions a grading calls, timed where worker.grading looks them up (those
#: the worker has: the bench also measures earlier versions of it).
PHASES = ("wait_for_golden", "claim", "submission_lease", "active_golden", "materialize",
          "grade_handin", "record")
SENDS = ("send_grade", "send_training", "send_similarity")


class Clock:
    """Per phase of the current grading: seconds (a phase's own time, without the time of the
    phases it calls), SQL statements and commits (on every engine of this process: the
    database's and, embedded, the broker's). A phase on another thread than the task's (the
    progress watcher while the sandbox runs) is kept apart: it overlaps the task's own phases.
    Statements and commits do not depend on the machine's load; the seconds do."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.statements: dict[str, int] = defaultdict(int)
        self.commits: dict[str, int] = defaultdict(int)
        self._local = threading.local()
        self._main = threading.get_ident()
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)

    def clear(self) -> None:
        for counts in (self.spent, self.statements, self.commits):
            counts.clear()

    def _current(self) -> str:
        names = self._local.__dict__.get("names") or ["rest"]
        return names[-1]

    def _statement(self, *_: object) -> None:
        self.statements[self._current()] += 1

    def _commit(self, *_: object) -> None:
        self.commits[self._current()] += 1

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        stack = self._local.__dict__.setdefault("stack", [])
        names = self._local.__dict__.setdefault("names", [])
        if threading.get_ident() != self._main:
            name += " (watcher thread)"
        stack.append(0.0)
        names.append(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - start
            inner = stack.pop()
            names.pop()
            self.spent[name] += took - inner
            if stack:
                stack[-1] += took

    def wrap(self, name: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            with self.phase(name):
                return fn(*args, **kwargs)
        return timed


def instrument(clock: Clock, ctx: WorkerContext, patches: contextlib.ExitStack) -> None:
    """Time the worker's phases and sends by replacing them where the worker looks them up."""
    for name in PHASES:
        original = getattr(grading, name, None)
        if original is None:
            continue
        if name == "submission_lease":
            patches.callback(setattr, grading, name, original)
            setattr(grading, name, _timed_lease(clock, original))
            continue
        patches.callback(setattr, grading, name, original)
        setattr(grading, name, clock.wrap(name, original))
    reporter = grading.progress_reporter
    patches.callback(setattr, grading, "progress_reporter", reporter)
    grading.progress_reporter = lambda *a, **k: clock.wrap("progress", reporter(*a, **k))
    for name in SENDS:
        setattr(ctx.dispatcher, name, clock.wrap("broker sends", getattr(ctx.dispatcher, name)))


def _timed_lease(clock: Clock, make: Callable) -> Callable:
    """The heartbeat's start and stop (its renewals run in a thread, off the task's path)."""
    @contextlib.contextmanager
    def lease(*args, **kwargs):
        beat = make(*args, **kwargs)
        with clock.phase("lease start/stop"):
            beat.__enter__()
        try:
            yield beat
        finally:
            with clock.phase("lease start/stop"):
                beat.__exit__(None, None, None)
    return lease


def stack_settings(stack: str, tmp: Path, pg: PostgresDatabases | None) -> Settings:
    prefix = f"around{uuid.uuid4().hex[:8]}-"
    (tmp / "sqlite").mkdir(parents=True)
    if stack == "sqlite":
        url = SqliteDatabases(tmp / "sqlite").fresh()
        broker = f"sqla+sqlite:///{tmp / 'broker.db'}"
    else:
        url, broker = pg.fresh(), REDIS_URL
    return Settings(home=tmp / "home", database_url=url, broker_url=broker, queue_prefix=prefix,
                    reaper_interval=0)


def submit(ctx: WorkerContext, data: bytes, n: int) -> list[int]:
    ids = []
    with ctx.sessions() as session:
        for i in range(n):
            user = crud.create_user(session, login=f"s{i}")
            sub = crud.create_submission(
                session, user=user, assignment=crud.get_assignment(session, slug="hw1p1-s20"),
                data=data, filename="handin.tar", received_at=utcnow(), late=False, penalty=0.0)
            ids.append(sub.id)
        session.commit()
    return ids


def measure(stack: str, n: int, jobs: bool, home: Path, tmp: Path,
            pg: PostgresDatabases | None) -> tuple[list[dict[str, float]], dict[str, list]]:
    settings = dataclasses.replace(stack_settings(stack, tmp, pg), home=home)
    url = settings.database_url
    with session_factory(url)() as session:
        sync_rubrics(session)
        session.commit()
    seed_golden_set(url, home)
    dispatcher = Dispatcher(settings)
    dispatcher.declare_queues()
    sandbox = get_sandbox("bwrap")
    ctx = WorkerContext(settings=settings, sessions=session_factory(url), dispatcher=dispatcher,
                        sandbox_factory=lambda: sandbox)
    ids = submit(ctx, make_handin_tar(), n + 1)
    assert grading.grade_submission(ctx, submission_id=ids[0], attempt=1, owner="w") == "graded"
    clock, rows = Clock(), []
    with contextlib.ExitStack() as patches:
        instrument(clock, ctx, patches)
        for sub_id in ids[1:]:
            clock.clear()
            start = time.perf_counter()
            outcome = grading.grade_submission(ctx, submission_id=sub_id, attempt=1, owner="w")
            total = time.perf_counter() - start
            assert outcome == "graded", outcome
            row = dict(clock.spent)
            row["rest"] = total - sum(v for k, v in row.items() if "thread" not in k)
            row["task"] = total
            rows.append({name: (seconds, clock.statements.get(name, 0),
                                clock.commits.get(name, 0)) for name, seconds in row.items()})
            rows[-1]["task"] = (total, sum(v for k, v in clock.statements.items()
                                           if "thread" not in k),
                                sum(v for k, v in clock.commits.items() if "thread" not in k))
    spawned: dict[str, list] = {"training run": [], "similarity job": []}
    if jobs:
        spawned = bulk_jobs(ctx, ids[1:])
    dispose(url)
    return rows, spawned


def bulk_jobs(ctx: WorkerContext, ids: list[int]) -> dict[str, list]:
    """Each graded hand-in's training run and similarity job, one after another."""
    times: dict[str, list] = {"training run": [], "similarity job": []}
    for sub_id in ids:
        with ctx.sessions() as session:
            run_id = crud.get_submission(session, submission_id=sub_id).current_run_id
        start = time.perf_counter()
        training.train_run(ctx, run_id=run_id)
        times["training run"].append(time.perf_counter() - start)
        start = time.perf_counter()
        similarity.index(ctx, kind="submission", ident=sub_id)
        times["similarity job"].append(time.perf_counter() - start)
    return times


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def table(stack: str, rows: list[dict[str, tuple[float, int, int]]],
          spawned: dict[str, list]) -> str:
    task = statistics.median(r["task"][0] for r in rows)
    seen = dict.fromkeys(k for r in rows for k in r if k not in ("rest", "task"))
    names = [*seen, "rest", "task"]
    lines = [f"{stack}: {len(rows)} reference hand-ins, one after another",
             "", "| phase | median ms | p95 ms | SQL statements | commits | share of the task |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name in names:
        seconds = [r.get(name, (0.0, 0, 0))[0] for r in rows]
        statements = statistics.median(r.get(name, (0.0, 0, 0))[1] for r in rows)
        commits = statistics.median(r.get(name, (0.0, 0, 0))[2] for r in rows)
        med = statistics.median(seconds)
        lines.append(f"| {name} | {med * 1000:.1f} | {percentile(seconds, 0.95) * 1000:.1f} "
                     f"| {statements:g} | {commits:g} | {med / task:.0%} |")
    outside = [r["task"][0] - r.get("grade_handin", (0.0, 0, 0))[0] for r in rows]
    med = statistics.median(outside)
    lines.append(f"| **outside grade_handin** | **{med * 1000:.1f}** | "
                 f"{percentile(outside, 0.95) * 1000:.1f} | | | **{med / task:.0%}** |")
    for name, values in spawned.items():
        if values:
            lines.append(f"| then, bulk: {name} | {statistics.median(values) * 1000:.1f} | "
                         f"{percentile(values, 0.95) * 1000:.1f} | | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--stacks", default="sqlite,postgresql")
    parser.add_argument("--jobs", action="store_true", help="also time the spawned bulk jobs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = make_service_home(Path(tmp))
        env = service_env(home, "", "")
        os.environ.update({k: env[k] for k in ("MLPGRADE_HOME", "MLPGRADE_RUNTIME",
                                                "MLPGRADE_SANDBOX")})
        stacks = args.stacks.split(",")
        pg = PostgresDatabases() if "postgresql" in stacks else None
        try:
            for stack in stacks:
                rows, spawned = measure(stack, args.n, args.jobs, home, Path(tmp) / stack, pg)
                print(table(stack, rows, spawned), end="\n\n", flush=True)
        finally:
            if pg is not None:
                pg.close()


if __name__ == "__main__":
    main()
