"""Sleeping code holds no core (worker/admission.py): a grading beyond the cores waits while the
running ones compute and starts while one sleeps; a grading's CPU is measured through its real
sandbox, so a hand-in that sleeps is idle and one that computes is busy, whatever the backend
that runs below the worker's process."""

from __future__ import annotations

import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest

from submissions_api.store import crud
from submissions_api.store.models_grading import Status, Submission
from tests.api.services import Proc, service_env
from tests.e2e.stack import copy_home, start_stack
from tests.handins import in_question_1, make_handin_tar
from tests.sandbox.probes import make_backend, probe_job
from worker import admission
from worker.admission import IDLE, Admission, grading_cpu

SPIN = "while True:\n    pass\n"
SLEEP = "import time\ntime.sleep(60)\n"


def job(code: str) -> subprocess.Popen:
    """A stand-in for a pool process holding a grading: a process whose child runs `code`
    (in a process group of their own, which the test kills)."""
    return subprocess.Popen([sys.executable, "-c", "import subprocess, sys; subprocess.run("
                             f"[sys.executable, '-c', {code!r}])"], start_new_session=True)


def end(*jobs: subprocess.Popen) -> None:
    for p in jobs:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def admitted_within(admission: Admission, seconds: float) -> bool:
    """Whether a grading asking now is admitted within `seconds` (it then leaves at once)."""
    done = threading.Event()

    def ask() -> None:
        with admission.admitted():
            done.set()
    threading.Thread(target=ask, daemon=True).start()
    return done.wait(seconds)


def test_a_grading_beyond_the_cores_waits_for_one_that_sleeps(tmp_path):
    admission = Admission(tmp_path / "tickets", cores=1, window=0.3)
    busy, idle, other = job(SPIN), job(SLEEP), job(SPIN)
    try:
        assert admitted_within(admission, 5)  # nothing runs: at once
        (admission.folder / str(busy.pid)).touch()  # one computes on the one core
        assert not admitted_within(admission, 3)
        assert admission.running() == [busy.pid]
        end(busy)
        (admission.folder / str(idle.pid)).touch()  # the one running sleeps
        assert admitted_within(admission, 5)
        assert admission.running() == [idle.pid]  # the dead one's ticket is void
        (admission.folder / str(other.pid)).touch()  # two running, one computes
        assert not admitted_within(admission, 3)
    finally:
        end(*(p for p in (busy, idle, other) if p.returncode is None))


def grading(sandbox, warm_up, job, started) -> None:
    """A pool process: its slot is warm from an earlier job; then it runs `job`."""
    sandbox.run(warm_up)
    started.set()
    sandbox.run(job)


@pytest.mark.parametrize("backend", ["process", "bwrap"])
def test_a_gradings_cpu_counts_its_sandbox(backend, tmp_path):
    """Measured as the gate measures a pool process holding a grading: a forked process that
    runs the job through a real backend, and everything below it (a warm slot's processes by
    their cgroup)."""
    sandbox = make_backend(backend)
    fork = multiprocessing.get_context("fork")
    rates = {}
    for name, code in (("sleeps", "import time\ntime.sleep(6)\n"),
                       ("computes", "import time\nend = time.monotonic() + 6\n"
                                    "while time.monotonic() < end:\n    pass\n")):
        work = tmp_path / name
        (work / "warm").mkdir(parents=True)
        started = fork.Event()
        pool = fork.Process(target=grading, args=(
            sandbox, probe_job(work / "warm", "pass"), probe_job(work, code), started))
        pool.start()
        assert started.wait(120)
        time.sleep(1.0)  # the job starts
        rates[name] = []
        for _ in range(6):  # as the gate measures: windows of half a second
            before, start = grading_cpu(pool.pid), time.monotonic()
            time.sleep(0.5)
            rates[name].append((grading_cpu(pool.pid) - before) / (time.monotonic() - start))
        pool.join()
    assert min(rates["sleeps"]) < IDLE, rates  # once its code sleeps
    assert statistics.median(rates["computes"]) > IDLE, rates


def test_a_worker_grades_past_a_sleeping_handin_not_past_a_computing_one(tmp_path,
                                                                          service_home):
    """One core, two slots: while a hand-in sleeps in a test (until its idle clock, 9 s) a
    correct one is graded; while one computes (its test's 3 s of CPU) the correct one waits.
    Every verdict is the one the hand-in gets alone."""
    home = copy_home(service_home, tmp_path / "home")
    env = service_env(home, f"sqlite:///{home / 'service.db'}",
                      f"sqla+sqlite:///{home / 'broker.db'}", MLPGRADE_REQUEUE_AFTER="300")
    stack = start_stack("admission", env, tmp_path)
    stack.procs.append(Proc([sys.executable, "-m", "worker", "--queues", "live",
                             "--concurrency", "2", "--cores", "1"], env, tmp_path / "w.log"))
    try:
        sleeps = pair(stack, in_question_1("import time\nwhile True:\n    time.sleep(1)"))
        computes = pair(stack, in_question_1("while True:\n    pass"))
    finally:
        stack.stop()
    for first, correct in (sleeps, computes):
        assert (first["status"], correct["status"]) == ("graded", "graded")
        assert correct["sub"]["score"] == correct["sub"]["max_score"]
        assert first["sub"]["score"] == sleeps[0]["sub"]["score"] < correct["sub"]["score"]
    assert sleeps[1]["finished"] < sleeps[0]["finished"]  # graded while the other slept
    assert (computes[1]["started"] - computes[0]["started"]).total_seconds() >= 3.0


def pair(stack, edits) -> tuple[dict, dict]:
    """Upload a hand-in with `edits` (bob), then a correct one (alice) a second later; both
    once graded, with their run's start and end."""
    ids = []
    for login, tar in (("bob", make_handin_tar(edits=edits)), ("alice", make_handin_tar())):
        with stack.api(login) as client:
            reply = client.post("/assignments/hw1p1-s20/submissions",
                                files={"file": ("handin.tar", tar)})
        assert reply.status_code == 202, reply.text
        ids.append((login, reply.json()["id"]))
        time.sleep(1.0)
    out = []
    for login, sub_id in ids:
        sub = stack.wait_submission(login, sub_id, timeout=180)
        with stack.sessions()() as session:
            run = crud.list_runs(session, submission_id=sub_id)[-1]
        out.append({"sub": sub, "status": sub["status"], "started": run.started_at,
                    "finished": run.finished_at})
    return out[0], out[1]


def test_a_bulk_job_waits_while_live_gradings_wait_and_no_longer_than_its_bound(sessions,
                                                                                monkeypatch):
    """after_live: a bulk-only worker's job that can wait starts once the live queue is empty,
    at the latest after `most`; a worker that serves both queues never waits (its slot would
    wait for gradings it is itself to run)."""
    assert admission.after_live(sessions, most=5, poll=0.05) == 0.0  # not a bulk-only worker
    monkeypatch.setattr(admission, "_defer", True)
    assert admission.after_live(sessions, most=5, poll=0.05) < 0.05  # nothing live: at once
    with sessions() as session:
        user = crud.create_user(session, login="rushing")
        sub = crud.create_submission(session, user=user,
                                     assignment=crud.get_assignment(session, slug="hw1p1-s20"),
                                     data=b"tar", filename="handin.tar",
                                     received_at=datetime.now(UTC), late=False, penalty=0.0)
        session.commit()
        sub_id = sub.id
    assert 0.5 <= admission.after_live(sessions, most=0.5, poll=0.05) < 3  # the bound

    def graded_later() -> None:
        time.sleep(0.6)
        with sessions() as session:
            session.get(Submission, sub_id).status = Status.GRADED
            session.commit()
    thread = threading.Thread(target=graded_later)
    thread.start()
    waited = admission.after_live(sessions, most=30, poll=0.05)
    thread.join()
    assert 0.5 <= waited < 10  # the live queue emptied: the job starts
