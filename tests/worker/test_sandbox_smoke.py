"""The sandbox part of a host's self-check (issue 27 item 1, worker/smoke.py): a trivial job of
ours through the grading backend. A host whose sandbox cannot run it is sick ("sandbox: ...")
and charges no hand-in; a hand-in that hits every limit never makes a healthy host sick."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
import time

import pytest

from grader.rubric import load_assignment
from grader.sandbox import get_sandbox
from submissions_api.settings import load_settings
from submissions_api.store import crud, lifecycle
from submissions_api.store.models import utcnow
from submissions_api.store.models_grading import Status
from tests.handins import make_handin_tar
from tests.sandbox.probes import PROBE_LIMITS, make_backend, probe_job
from worker import health
from worker.context import WorkerContext
from worker.grading import Job, Outcome, record
from worker.smoke import sandbox_check

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="a slot uid of its own needs root")


@pytest.fixture
def ctx(backend, sessions, dispatcher, tmp_path) -> WorkerContext:
    bwrap = get_sandbox("bwrap")  # the worker's own: one warm slot kept across jobs
    return WorkerContext(settings=dataclasses.replace(backend, home=tmp_path / "home",
                                                      self_check_interval=0.1),
                         sessions=sessions, dispatcher=dispatcher, sandbox_factory=lambda: bwrap)


@pytest.fixture
def unreachable_tmpdir(tmp_path, monkeypatch):
    """A TMPDIR only root can enter: writable (the disk check passes), but a box's uid cannot
    reach what is staged there."""
    private = tmp_path / "private"
    (private / "tmp").mkdir(parents=True)
    private.chmod(0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(private / "tmp"))
    return private / "tmp"


@pytest.mark.parametrize("name", ["process", "bwrap-cold", "bwrap"])
def test_smoke_run_passes_on_a_healthy_backend_and_is_cheap(name):
    sandbox = make_backend(name)
    start = time.monotonic()
    assert sandbox_check(lambda: sandbox) == ""
    assert time.monotonic() - start < 5


@needs_root
def test_bwrap_that_cannot_reach_tmpdir_is_a_sick_sandbox(unreachable_tmpdir):
    reason = sandbox_check(lambda: make_backend("bwrap-cold"))
    assert reason.startswith("sandbox: "), reason
    assert os.listdir(unreachable_tmpdir) == []  # it cleans up after itself


@pytest.mark.parametrize("name, said", [("docker", "docker backend unavailable"),
                                         ("no-such-backend", "no-such-backend")])
def test_a_backend_that_cannot_start_is_a_sick_sandbox(monkeypatch, name, said):
    """MLPGRADE_SANDBOX naming a backend this host cannot run (no docker engine, a typo)."""
    if name == "docker" and (os.path.exists("/var/run/docker.sock")
                             or os.environ.get("DOCKER_HOST")):  # CI's engine (scripts/dockerd.sh)
        pytest.skip("a docker engine runs here")
    monkeypatch.setenv("MLPGRADE_SANDBOX", name)
    from worker.context import configured_sandbox

    reason = sandbox_check(configured_sandbox)
    assert reason.startswith("sandbox: InfrastructureError: ") and said in reason, reason


def claimed(ctx, login: str) -> tuple[Job, int]:
    with ctx.sessions() as session:
        sub = crud.create_submission(session, user=crud.create_user(session, login=login),
                                     assignment=crud.get_assignment(session, slug="hw1p1-s20"),
                                     data=make_handin_tar(extra={"hw1/x.py": login}),
                                     filename="handin.tar", received_at=utcnow(), late=False,
                                     penalty=0.0)
        session.commit()
        assert lifecycle.claim_submission(session, submission_id=sub.id, attempt=1, owner="w",
                                          lease_seconds=60)
        session.commit()
        return Job(data=b"", assignment=load_assignment(sub.assignment.slug),
                   assignment_id=sub.assignment_id, queue=sub.queue, infra_failures=0,
                   started_at=crud.db_now(session), golden_set_id=0, golden_version="",
                   archive_sha256=None), sub.id


def fail_on_us(ctx, job: Job, sub_id: int) -> Outcome:
    return record(ctx, job, submission_id=sub_id, attempt=1, owner="w", graded=None,
                  error="InfrastructureError: the runner never got ready",
                  started_at=job.started_at)


def submission(ctx, sub_id: int):
    with ctx.sessions() as session:
        sub = crud.get_submission(session, submission_id=sub_id)
        return sub.status, sub.infra_failures, sub.error


@needs_root
def test_host_whose_sandbox_is_broken_says_sick_and_charges_nothing(ctx, unreachable_tmpdir):
    job, sub_id = claimed(ctx, "alice")
    outcome: list[Outcome] = []
    worker = threading.Thread(target=lambda: outcome.append(fail_on_us(ctx, job, sub_id)))
    worker.start()
    deadline = time.monotonic() + 20
    while not outcome and time.monotonic() < deadline:  # until the worker is waiting
        with ctx.sessions() as session:
            sick = [h.reason for h in crud.sick_hosts(session)]
        if sick and submission(ctx, sub_id)[0] == Status.QUEUED:
            break
        time.sleep(0.05)
    assert len(sick) == 1 and sick[0].startswith("sandbox: "), sick
    status, failures, error = submission(ctx, sub_id)
    assert (status, failures) == (Status.QUEUED, 0)  # retried at once, not charged
    assert "on a sick host: sandbox: " in error
    assert worker.is_alive()  # takes no more work while sick
    tempfile.tempdir = None  # the operator fixes the host: its check passes again
    worker.join(20)
    assert outcome == [Outcome.RETRY]
    with ctx.sessions() as session:
        assert crud.sick_hosts(session) == []


FORK_BOMB = """import os, time
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
    except OSError:
        break
raise SystemExit(1)
"""
HOG = "x = bytearray(1024 * 2**20)\nx[::4096] = b'x' * len(x[::4096])\n"
FLOOD = "import sys\nwhile True: sys.stdout.write('x' * 65536)\n"
FILL = "import sys\nwith open(sys.argv[sys.argv.index('--out') + 1] + '/f', 'wb') as f:\n" \
    "    while True: f.write(b'x' * 2**20)\n"
SPIN = "while True: pass\n"
SLEEP = "import time\ntime.sleep(60)\n"


@needs_root
def test_handin_hitting_every_limit_never_makes_a_healthy_host_sick(tmp_path):
    """A hostile hand-in exhausts each limit in a worker's own sandbox (its warm slot dies and
    is replaced each time): the host's check, smoke run included, passes after them. (No database:
    `health.check` alone decides whether a failure is charged; see the test above.)"""
    sandbox = get_sandbox("bwrap")
    settings = dataclasses.replace(load_settings(), home=tmp_path / "home")
    ctx = WorkerContext(settings=settings, sessions=None, dispatcher=None,
                        sandbox_factory=lambda: sandbox)
    limits = dataclasses.replace(PROBE_LIMITS, cpu_seconds=1, wall_seconds=1.5, memory_mb=256)
    verdicts = []
    for i, code in enumerate((FORK_BOMB, HOG, FLOOD, FILL, SPIN, SLEEP)):
        (tmp_path / str(i)).mkdir()
        verdicts.append(sandbox.run(probe_job(tmp_path / str(i), code, limits)).verdict)
    assert health.check(ctx) == ""
    assert verdicts[:4] + verdicts[5:] == ["process_limit", "out_of_memory", "output_limit",
                                           "disk_limit", "wall_timeout"]
    assert verdicts[4] in ("cpu_limit", "wall_timeout")  # a busy machine: whichever comes first
