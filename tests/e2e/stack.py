"""A running service for end-to-end tests: the API (uvicorn) and worker processes over HTTP."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from submissions_api.store.db import dispose, session_factory
from tests.api.services import (
    REPO,
    Proc,
    free_port,
    seed_golden_set,
    service_env,
    start_api,
    start_worker,
    wait_for,
)

MLPGRADE = (sys.executable, "-m", "submissions_api.cli")
"""The `mlpgrade` command of this checkout."""


@dataclass
class Stack:
    name: str
    env: dict[str, str]
    url: str
    tmp: Path
    procs: list[Proc] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, login: str) -> httpx.Client:
        return httpx.Client(base_url=self.url + "/api/v1", timeout=30,
                            headers={"Authorization": f"Bearer {self.tokens[login]}"})

    def sessions(self):
        return session_factory(self.env["MLPGRADE_DATABASE_URL"])

    def worker(self, queues: str = "live,bulk", **env: str) -> Proc:
        """A worker process; `env` overrides variables (e.g. MLPGRADE_HOME: its own data
        folder, as each host has in production)."""
        proc = start_worker({**self.env, **env}, self.tmp / f"worker-{len(self.procs)}.log",
                            queues)
        self.procs.append(proc)
        return proc

    def mlpgrade(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([*MLPGRADE, *args], env=self.env, cwd=REPO, capture_output=True,
                              text=True, timeout=timeout)

    def wait_submission(self, login: str, sub_id: int, statuses=("graded", "failed"),
                        timeout: float = 120, training: bool = False) -> dict:
        """The submission once in `statuses`; with `training`, once its training run is over
        too (its page stops reloading itself)."""
        with self.api(login) as client:
            def done():
                sub = client.get(f"/submissions/{sub_id}").json()
                over = not training or sub.get("training") != "pending"
                return sub if sub["status"] in statuses and over else None
            return wait_for(done, timeout, f"submission {sub_id} {statuses}", 0.1,
                            tuple(self.procs))

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()
        dispose(self.env["MLPGRADE_DATABASE_URL"])


def start_stack(name: str, env: dict[str, str], tmp: Path) -> Stack:
    """Migrate, import a roster through the CLI, start the API; workers are started by tests."""
    port = free_port()
    stack = Stack(name=name, env=env, url=f"http://127.0.0.1:{port}", tmp=tmp)
    roster = tmp / "roster.csv"
    roster.write_text("login,name,role\nprof,Prof,instructor\nta1,TA One,ta\n"
                      "alice,Alice,student\nbob,Bob,student\n")
    out = stack.mlpgrade("users", "import", str(roster))
    assert out.returncode == 0, out.stderr
    for row in csv.DictReader(io.StringIO(out.stdout)):  # login, role, token, outcome
        stack.tokens[row["login"]] = row["token"]
    stack.procs.append(start_api(env, tmp / "api.log", port))
    wait_for(lambda: _healthy(stack.url), 30, "the API", 0.2, tuple(stack.procs))
    # After the API synced the assignments: the database's active set is the session's.
    seed_golden_set(env["MLPGRADE_DATABASE_URL"], Path(env["MLPGRADE_HOME"]))
    return stack


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def copy_home(service_home: Path, dest: Path) -> Path:
    """A private data folder holding the session's golden set."""
    shutil.copytree(service_home / "golden", dest / "golden")
    return dest


def embedded_env(service_home: Path, tmp: Path, **extra: str) -> dict[str, str]:
    """A service's environment on the embedded default (SQLite + kombu's sqla broker), in a
    private data folder `tmp/home` holding the session's golden set."""
    home = copy_home(service_home, tmp / "home")
    return service_env(home, f"sqlite:///{home / 'service.db'}",
                       f"sqla+sqlite:///{home / 'broker.db'}", **extra)
