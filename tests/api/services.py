"""The real parts the service tests run against: PostgreSQL, Redis, SQLite, worker and API
processes.

PostgreSQL: MLPGRADE_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
each test gets a fresh database cloned from a migrated template. Redis: MLPGRADE_TEST_REDIS_URL
(default redis://127.0.0.1:6379/0); each test gets its own queue prefix. When CI=true a missing
service fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from grader.golden.archive import pack_golden
from grader.golden.canary import generate_golden
from grader.golden.store import LocalGoldenStore
from grader.rubric import load_assignment
from grader.runtime import runtime_python
from grader.settings import load_settings
from submissions_api.store import crud, golden_lifecycle
from submissions_api.store.db import session_factory
from submissions_api.store.migrate import upgrade
from submissions_api.store.models_golden import GoldenStatus

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI") == "true"
POSTGRES_URL = os.environ.get("MLPGRADE_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MLPGRADE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SANDBOX = os.environ.get("MLPGRADE_TEST_SANDBOX", "bwrap")


def unavailable(what: str, exc: Exception) -> None:
    message = f"{what} is not reachable ({exc}); see README.md"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _pg_admin():

    url = make_url(POSTGRES_URL)
    return psycopg.connect(host=url.host, port=url.port or 5432, user=url.username,
                           password=url.password, dbname=url.database, autocommit=True,
                           connect_timeout=5)


class PostgresDatabases:
    """Fresh databases cloned from one migrated template (fast: CREATE DATABASE ... TEMPLATE)."""

    def __init__(self) -> None:
        try:
            self.admin = _pg_admin()
        except Exception as exc:  # noqa: BLE001 - whatever the reason, the service is unreachable
            unavailable("PostgreSQL", exc)
        self.template = f"mlpgrade_tmpl_{uuid.uuid4().hex[:10]}"
        self.admin.execute(f'CREATE DATABASE "{self.template}"')

        upgrade(self.url(self.template))

        create_engine(self.url(self.template)).dispose()
        self.made: list[str] = []

    def url(self, name: str) -> str:
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def fresh(self) -> str:
        name = f"mlpgrade_t_{uuid.uuid4().hex[:12]}"
        self.admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.made.append(name)
        return self.url(name)

    def close(self) -> None:
        for name in [*self.made, self.template]:
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.close()


class SqliteDatabases:
    def __init__(self, root: Path) -> None:

        self.root = root
        self.template = root / "template.db"
        upgrade(f"sqlite:///{self.template}")

    def fresh(self) -> str:
        path = self.root / f"{uuid.uuid4().hex[:12]}.db"
        shutil.copy(self.template, path)
        return f"sqlite:///{path}"


def check_redis() -> None:

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001 - whatever the reason, the service is unreachable
        unavailable("Redis", exc)


def service_env(home: Path, database_url: str, broker_url: str, **extra: str) -> dict[str, str]:
    """Environment of a service process: our data folder, URLs, the runtime, short timings."""

    runtime = os.environ.get("MLPGRADE_RUNTIME") or str(runtime_python(
        load_assignment("hw1p1-s20").packages, load_settings({})))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLPGRADE_")}
    env.update({"MLPGRADE_HOME": str(home), "MLPGRADE_DATABASE_URL": database_url,
                "MLPGRADE_BROKER_URL": broker_url, "MLPGRADE_RUNTIME": runtime,
                "MLPGRADE_SANDBOX": SANDBOX, "MLPGRADE_LEASE_SECONDS": "4",
                "MLPGRADE_REAPER_INTERVAL": "1", "MLPGRADE_REQUEUE_AFTER": "6",
                "MLPGRADE_RETRY_BACKOFF": "0.5", "MLPGRADE_POLLING_INTERVAL": "0.05",
                "MLPGRADE_QUEUE_PREFIX": f"t{uuid.uuid4().hex[:8]}-",
                # tests upload one fixture hand-in many times; the duplicate rule's own tests
                # set a window (tests/api/test_idempotency.py, tests/fault/test_edges.py)
                "MLPGRADE_DUPLICATE_WINDOW": "0",
                "PYTHONPATH": str(REPO), **extra})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A service process we started, in its own process group, logging to a file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = log.open("ab")
        self.popen = subprocess.Popen(argv, env=env, cwd=REPO, stdout=self.handle,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole group (the Celery main process and its pool children)."""
        if self.popen.poll() is None or sig == signal.SIGKILL:
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.popen.wait(timeout=10)
        self.kill(signal.SIGKILL)  # leftovers of the group
        self.handle.close()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def start_worker(env: dict[str, str], log: Path, queues: str = "live,bulk") -> Proc:
    return Proc([sys.executable, "-m", "worker", "--queues", queues, "--name",
                 f"w{uuid.uuid4().hex[:6]}@%h", "--loglevel", "INFO"], env, log)


def start_api(env: dict[str, str], log: Path, port: int) -> Proc:
    return Proc([sys.executable, "-m", "uvicorn", "--factory", "submissions_api.main:create_app",
                 "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], env, log)


def wait_for(predicate: Callable[[], object], timeout: float, what: str,
             interval: float = 0.1, logs: tuple[Proc, ...] = ()) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    tails = "\n".join(f"--- {p.log.name}\n{p.tail()}" for p in logs)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{tails}")


def make_service_home(root: Path) -> Path:
    """A data folder holding a current golden set for hw1p1-s20 (made once per session)."""

    home = root / "home"
    golden = generate_golden(load_assignment("hw1p1-s20"), home / "golden")
    LocalGoldenStore(home / "golden").set_current(golden)
    return home


def seed_golden_set(database_url: str, home: Path, slug: str = "hw1p1-s20") -> int:
    """Make the data folder's current golden set (make_service_home's) the database's active
    set, as an instructor's upload, canary and activation would: the service grades only with
    the database's active set, and a fresh service would otherwise first make its own (~45 s)."""

    golden = LocalGoldenStore(home / "golden").current(slug)
    with session_factory(database_url)() as session:
        assignment = crud.get_assignment(session, slug=slug)
        row = crud.create_golden_set(
            session, assignment=assignment, created_by=None, status=GoldenStatus.READY, values={
                "version": golden.version, "sha256": golden.sha256,
                "numpy_version": golden.manifest.get("numpy"), "manifest": golden.manifest,
                "archive_sha256": crud.put_blob(session, data=pack_golden(golden.path)),
                "canary": {"passed": True, "cases": [], "seeded_by": "tests"},
                "canary_passed": True})
        assert golden_lifecycle.activate_golden_set(session, assignment=assignment, golden=row,
                                                    by=None)
        session.commit()
        return row.id
