"""Fixtures shared by tests/api, tests/worker and tests/e2e (imported by their conftest.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from submissions_api import security
from submissions_api.jobs import Dispatcher
from submissions_api.main import create_app
from submissions_api.settings import Settings
from submissions_api.store import crud
from submissions_api.store.db import dispose, session_factory
from submissions_api.store.rubrics import sync_rubrics
from tests.api.services import (
    REDIS_URL,
    PostgresDatabases,
    SqliteDatabases,
    check_redis,
    make_service_home,
)
from tests.lms.platform import Served


@pytest.fixture(scope="session")
def postgres_databases():
    dbs = PostgresDatabases()
    yield dbs
    dbs.close()


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory):
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def service_home(tmp_path_factory):
    """MLPGRADE_HOME with a current hw1p1-s20 golden set (generation takes ~15 s, once)."""
    return make_service_home(tmp_path_factory.mktemp("service"))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    """Settings on one of the two real stacks: SQLite + embedded sqla broker, or PostgreSQL +
    Redis. The database is fresh and migrated; the queues are this test's own."""
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_databases").fresh()
        broker = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    else:
        url = request.getfixturevalue("postgres_databases").fresh()
        check_redis()
        broker = REDIS_URL
    settings = Settings(home=tmp_path / "home", database_url=url, broker_url=broker,
                        queue_prefix=prefix, lease_seconds=4, reaper_interval=0,
                        requeue_after=6, infra_retries=2, retry_backoff=0.2,
                        duplicate_window=0)  # tests upload one fixture many times (see
    # tests/api/test_idempotency.py for the rule itself)
    with session_factory(url)() as session:
        sync_rubrics(session)
        session.commit()
    yield settings
    dispose(url)  # PostgreSQL has a connection budget; every test has its own database


@dataclass
class Users:
    tokens: dict[str, str]

    def headers(self, login: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[login]}"}


@pytest.fixture
def users(backend) -> Users:
    """instructor, ta, and students alice and bob, with tokens."""
    tokens = {}
    with session_factory(backend.database_url)() as session:
        for login, role in [("prof", "instructor"), ("ta1", "ta"), ("alice", "student"),
                            ("bob", "student")]:
            user = crud.create_user(session, login=login, name=login.title(), role=role)
            tokens[login] = security.issue_token(session, user=user)
        session.commit()
    return Users(tokens)


@pytest.fixture
def dispatcher(backend) -> Dispatcher:
    d = Dispatcher(backend)
    d.declare_queues()
    return d


@pytest.fixture
def client(backend, dispatcher, users) -> TestClient:
    with TestClient(create_app(backend, dispatcher)) as c:
        yield c


@pytest.fixture
def tool(backend, dispatcher, users):
    """The app under uvicorn in a thread (for a browser), on the backend's database."""
    served = Served(create_app(backend, dispatcher))
    yield served
    served.stop()


@pytest.fixture
def sessions(backend):
    return session_factory(backend.database_url)
