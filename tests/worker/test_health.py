"""A worker host's own health and its scratch folder (issue 27 items 1 and 4): the self-check
says why a host cannot grade; failed submissions are re-graded once no host is sick, once; a
worker's start sweeps the scratch folders of dead workers, never a live one's."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from submissions_api.store import crud, lifecycle
from submissions_api.store.models import utcnow
from submissions_api.store.models_grading import QueueKind, Status
from tests.handins import make_handin_tar
from worker import health
from worker.context import WorkerContext
from worker.scratch import LOCK, PREFIX, sweep


@pytest.fixture
def ctx(backend, sessions, dispatcher, tmp_path) -> WorkerContext:
    return WorkerContext(settings=dataclasses.replace(backend, home=tmp_path / "home"),
                         sessions=sessions, dispatcher=dispatcher)


def test_self_check_says_why_a_host_cannot_grade(ctx, monkeypatch, tmp_path):
    assert health.self_check(ctx.settings) == ""
    unwritable = tmp_path / "file-not-folder"
    unwritable.write_text("")  # a TMPDIR that cannot hold a file
    monkeypatch.setattr(tempfile, "tempdir", str(unwritable))
    assert health.self_check(ctx.settings).startswith(f"cannot write to {unwritable}")


def failed(ctx, login: str) -> int:
    with ctx.sessions() as session:
        sub = crud.create_submission(session, user=crud.create_user(session, login=login),
                                     assignment=crud.get_assignment(session, slug="hw1p1-s20"),
                                     data=make_handin_tar(extra={"hw1/x.py": login}),
                                     filename="handin.tar", received_at=utcnow(), late=False,
                                     penalty=0.0)
        assert lifecycle.fail_submission(session, submission_id=sub.id, attempt=1,
                                         from_status=Status.QUEUED, error="OSError: disk")
        session.commit()
        return sub.id


def test_failed_submissions_are_regraded_once_no_host_is_sick(ctx):
    sub_id = failed(ctx, "alice")
    health.report(ctx, "cannot write to /tmp: No space left on device")
    assert health.regrade_failed(ctx) == []  # a host is sick: not yet
    health.report(ctx, "")
    assert health.regrade_failed(ctx) == [sub_id]
    assert ctx.dispatcher.queue_size(QueueKind.BULK) == 1
    with ctx.sessions() as session:
        sub = crud.get_submission(session, submission_id=sub_id)
        assert (sub.status, sub.queue, sub.infra_failures) == (Status.QUEUED, "bulk", 0)
        assert lifecycle.fail_submission(session, submission_id=sub_id, attempt=sub.attempts,
                                         from_status=Status.QUEUED, error="again")
        session.commit()
    assert health.regrade_failed(ctx) == []  # failed again after its re-grade: left to staff


def test_sweep_removes_dead_workers_folders_only(tmp_path):
    dead, live = tmp_path / f"{PREFIX}1-dead", tmp_path / f"{PREFIX}2-live"
    for folder in (dead, live):
        (folder / "mlpgrade-warm-x").mkdir(parents=True)
        (folder / LOCK).touch()
    other = tmp_path / "mlpgrade-warm-not-ours"
    other.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR); "
        "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)"),
        str(live / LOCK)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert sweep(tmp_path) == [dead]
        assert not dead.exists() and live.exists() and other.exists()
    finally:
        holder.kill()
        holder.wait()
    assert sweep(Path(tmp_path)) == [live]  # its worker is gone now
