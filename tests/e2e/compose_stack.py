"""docker-compose.yml started for real: the images scripts/build-images.sh builds (the ones the
README tells a course to run), a project of its own, a free port on 127.0.0.1, and `down -v` at
the end. Used by tests/e2e/test_compose_stack.py and bench/compose_burst.py."""

from __future__ import annotations

import csv
import io
import os
import secrets
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx

from grader.sandbox.docker import LABEL
from tests.api.services import REPO, free_port

COMPOSE = REPO / "docker-compose.yml"
TAG = os.environ.get("MLPGRADE_TEST_IMAGE_TAG", "e2e")
"""The image tag the tests build and run (not `latest`: a course's own images stay untouched)."""


def compose_command(env: dict[str, str]) -> list[str] | None:
    """`docker compose` (the plugin) or Debian's `docker-compose`."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"],
                                                 capture_output=True, env=env).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def docker_socket() -> Path | None:
    """The engine's unix socket (DOCKER_HOST), which the stack's docker-proxy is given."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return None
    path = Path(host.removeprefix("unix://"))
    return path if path.is_socket() else None


def build_images(tag: str = TAG, timeout: float = 1800) -> str:
    """scripts/build-images.sh TAG; returns what it printed (cached builds take seconds)."""
    out = subprocess.run(["bash", str(REPO / "scripts" / "build-images.sh"), tag], cwd=REPO,
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"build-images.sh failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out.stderr


class ComposeStack:
    """One compose project: `up`, users, uploads over the published port, SQL, `down -v`."""

    def __init__(self, work: Path, command: list[str], *, workers: int = 3,
                 tag: str = TAG, lease_seconds: int = 15) -> None:
        socket = docker_socket()
        if socket is None:
            raise RuntimeError("DOCKER_HOST must name the engine's unix socket")
        self.command, self.work = command, work
        self.project = f"mlpgrade-e2e-{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        # The workers' job folder: the same path on the host and inside (the engine bind-mounts
        # it into each job), owned by the service's uid.
        self.jobs = work / "jobs"
        self.jobs.mkdir(parents=True)
        os.chown(self.jobs, 10000, 10000)
        self.jobs.chmod(0o711)
        self.instructor_token = secrets.token_urlsafe(24)
        values = {
            "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
            "REDIS_PASSWORD": secrets.token_urlsafe(16),
            "MLPGRADE_INSTRUCTOR_TOKEN": self.instructor_token,
            "FLOWER_BASIC_AUTH": f"flower:{secrets.token_urlsafe(12)}",
            "MLPGRADE_IMAGE_TAG": tag,
            "MLPGRADE_BIND": "127.0.0.1",
            "MLPGRADE_PORT": str(self.port),
            "FLOWER_PORT": str(free_port()),
            "MLPGRADE_JOBS_DIR": str(self.jobs),
            "MLPGRADE_DOCKER_SOCKET": str(socket),
            "MLPGRADE_WORKERS": str(workers),
            # one sandbox slot per worker container: the burst's workers share two cores
            "MLPGRADE_WORKER_CONCURRENCY": "1",
            # a killed worker's submission is re-queued after this (production: 60)
            "MLPGRADE_LEASE_SECONDS": str(lease_seconds),
            # warm sandbox slots (the default), or a container per job: bench/compose_burst.py
            "MLPGRADE_WARM": os.environ.get("MLPGRADE_WARM", "1"),
        }
        self.env_file = work / "stack.env"
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        self.url = f"http://127.0.0.1:{self.port}"
        self.tokens: list[str] = []

    def compose(self, *args: str, timeout: float = 600, check: bool = True,
                stdin: str | None = None) -> subprocess.CompletedProcess:
        argv = [*self.command, "-p", self.project, "-f", str(COMPOSE),
                "--env-file", str(self.env_file), *args]
        out = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                             input=stdin)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({out.returncode}):\n"
                               f"{out.stdout[-2000:]}\n{out.stderr[-4000:]}\n{self.logs()}")
        return out

    def up(self, timeout: float = 300) -> None:
        self.compose("up", "-d", "--no-build", timeout=timeout)
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=3).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise RuntimeError(f"the API at {self.url} never answered /health\n{self.logs()}")

    def scale_workers(self, n: int, timeout: float = 300) -> None:
        self.compose("up", "-d", "--no-build", "--no-recreate", "--scale", f"worker={n}",
                     timeout=timeout)

    def containers(self, service: str) -> list[str]:
        out = self.compose("ps", "-q", service)
        return [line for line in out.stdout.split() if line]

    def running(self, service: str) -> list[str]:
        ids = self.containers(service)
        if not ids:
            return []
        out = subprocess.run(["docker", "inspect", "-f", "{{.Id}} {{.State.Running}}", *ids],
                             capture_output=True, text=True, check=True)
        return [line.split()[0] for line in out.stdout.splitlines() if line.endswith("true")]

    def kill(self, container: str) -> None:
        subprocess.run(["docker", "kill", "-s", "KILL", container], capture_output=True,
                       check=True)

    def pause(self, container: str, frozen: bool) -> None:
        """Freeze (or thaw) every process of a container: it holds what it holds, changes
        nothing, and can be killed in that state."""
        subprocess.run(["docker", "pause" if frozen else "unpause", container],
                       capture_output=True, check=True)

    def add_students(self, n: int) -> list[str]:
        """n students through `mlpgrade users import` inside the API container; their tokens."""
        roster = "login,name,role\n" + "".join(
            f"student{i:03d},Student {i},student\n" for i in range(n))
        out = self.compose("exec", "-T", "api", "sh", "-c",
                           "cat > /tmp/roster.csv && mlpgrade users import /tmp/roster.csv",
                           stdin=roster)
        rows = list(csv.DictReader(io.StringIO(out.stdout)))
        self.tokens = [r["token"] for r in rows if r["role"] == "student"]
        assert len(self.tokens) == n, out.stdout
        return self.tokens

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url + "/api/v1", timeout=120,
                            headers={"Authorization": f"Bearer {token}"})

    def upload(self, i: int, data: bytes) -> int:
        with self.client(self.tokens[i % len(self.tokens)]) as client:
            reply = client.post("/assignments/hw1p1-s20/submissions",
                                files={"file": ("handin.tar", data)})
        reply.raise_for_status()
        return reply.json()["id"]

    def sql(self, query: str) -> list[list[str]]:
        """Rows of a query, run by psql inside the PostgreSQL container."""
        out = self.compose("exec", "-T", "postgres", "psql", "-U", "mlpgrade", "-d", "mlpgrade",
                           "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", query)
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def logs(self, tail: int = 40) -> str:
        out = subprocess.run([*self.command, "-p", self.project, "-f", str(COMPOSE),
                              "--env-file", str(self.env_file), "logs", "--no-color",
                              f"--tail={tail}"], cwd=REPO, capture_output=True, text=True,
                             timeout=120)
        return out.stdout[-8000:]

    def down(self) -> None:
        """`down -v`, then the job containers a killed worker left behind (a worker removes its
        own when it is alive) and the job folder; the containers go even if `down` failed or
        timed out (a stack's slot containers once outlived a CI run's whole suite)."""
        try:
            self.compose("down", "-v", "--remove-orphans", "-t", "5", check=False, timeout=300)
        finally:
            left = [c for c in subprocess.run(
                ["docker", "ps", "-aq", "--filter", f"label={LABEL}"],
                capture_output=True, text=True).stdout.split() if self._in_jobs(c)]
            if left:
                subprocess.run(["docker", "rm", "-f", *left], capture_output=True, timeout=300)
            shutil.rmtree(self.jobs, ignore_errors=True)

    def _in_jobs(self, container: str) -> bool:
        out = subprocess.run(["docker", "inspect", "-f",
                              "{{range .Mounts}}{{.Source}} {{end}}", container],
                             capture_output=True, text=True)
        return str(self.jobs) in out.stdout
