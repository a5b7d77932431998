"""Private Redis and PostgreSQL servers that a fault test may stop and restart.

The machine's shared Redis (6379) and PostgreSQL (5432) serve other tests at the same time, so
the fault tests never touch them: each starts its own server on a free port, as a subprocess.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.api.services import IN_CI, free_port, wait_for


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is not installed")
    pytest.skip(f"{what} is not installed")


class PrivateRedis:
    """`redis-server --save ""` on a free port: a restart loses every queued message."""

    def __init__(self, log: Path) -> None:
        self.binary = shutil.which("redis-server") or _missing("redis-server")
        self.port = free_port()
        self.log = log
        self.popen: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--daemonize", "no"], stdout=out, stderr=subprocess.STDOUT)
        wait_for(self._ping, 10, f"redis on {self.port}", 0.05)

    def _ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else (shutil.which(name) or _missing(f"PostgreSQL's {name}"))


class PrivatePostgres:
    """A throwaway cluster (initdb, trust auth) on a free port. initdb refuses root, so as root
    the server runs as the `postgres` user in a folder it owns."""

    def __init__(self, log: Path) -> None:
        self.initdb, self.postgres = _pg_bin("initdb"), _pg_bin("postgres")
        self.port = free_port()
        self.log = log
        self.data = Path(tempfile.mkdtemp(prefix="mlpgrade-pg-"))
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                _missing("a postgres user")
            self.user = "postgres"
            os.chown(self.data, entry.pw_uid, entry.pw_gid)
        self.popen: subprocess.Popen | None = None
        self._run([self.initdb, "-D", str(self.data / "db"), "-U", "postgres", "--auth=trust",
                   "--no-sync", "-E", "UTF8"])

    def _run(self, argv: list[str]) -> None:
        with self.log.open("ab") as out:
            subprocess.run(argv, check=True, stdout=out, stderr=subprocess.STDOUT, user=self.user,
                           cwd=self.data, timeout=120)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [self.postgres, "-D", str(self.data / "db"), "-p", str(self.port),
                 "-k", str(self.data), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
                stdout=out, stderr=subprocess.STDOUT, user=self.user, cwd=self.data)
        wait_for(self._ready, 30, f"postgres on {self.port}", 0.1)

    def _ready(self) -> bool:
        import psycopg

        try:
            psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                            dbname="postgres", connect_timeout=1).close()
            return True
        except psycopg.Error:
            return False

    def stop(self) -> None:
        """Fast shutdown (SIGINT): clients are disconnected, committed data stays."""
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)

