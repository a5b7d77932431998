"""A sick host's bulk jobs (issue 27 item 1): a training run that fails on a host whose own
check fails uses none of its tries. It is sent again at once (for a host that is
well), the host says it is sick and its process takes no more work until its check passes.

Each test gives the job no retry at all (`infra_retries=0`): a charged failure would end it
(the run recorded training failed), so only the sick path keeps it alive. The host is made
sick for real: its temporary folder is a file, so the job's staging and the self-check both fail.
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import time
from collections.abc import Callable

from submissions_api.store import crud
from submissions_api.store.models_grading import QueueKind
from tests.handins import make_handin_tar
from tests.worker.test_grading import ctx, runs, submit  # noqa: F401 - ctx: the fixture
from worker.context import WorkerContext
from worker.grading import grade_submission
from worker.training import train_run


def no_retries(context: WorkerContext) -> WorkerContext:
    return dataclasses.replace(context, settings=dataclasses.replace(
        context.settings, infra_retries=0, self_check_interval=0.1))


def while_sick(context: WorkerContext, job: Callable[[], str], tmp_path) -> list[str]:
    """Run `job` on a host whose temporary folder cannot hold a file; once the host says it is
    sick, check the job is held (not returned) with its message sent again, heal the host and
    return what the job returned."""
    broken = tmp_path / "tmpdir-is-a-file"
    broken.write_text("")
    context.dispatcher.app.control.purge()
    tempfile.tempdir = str(broken)
    done: list[str] = []
    try:
        worker = threading.Thread(target=lambda: done.append(job()))
        worker.start()
        deadline = time.monotonic() + 60
        sick: list[str] = []
        while not sick and time.monotonic() < deadline:
            with context.sessions() as session:
                sick = [h.reason for h in crud.sick_hosts(session)]
            time.sleep(0.05)
        assert sick and sick[0].startswith(f"cannot write to {broken}"), sick
        wait = time.monotonic() + 10
        while context.dispatcher.queue_size(QueueKind.BULK) != 1 and time.monotonic() < wait:
            time.sleep(0.05)
        assert context.dispatcher.queue_size(QueueKind.BULK) == 1  # sent again at once
        time.sleep(0.5)
        assert worker.is_alive() and not done  # takes no more work while sick
    finally:
        tempfile.tempdir = None  # the operator frees the disk: the check passes again
    worker.join(60)
    with context.sessions() as session:
        assert crud.sick_hosts(session) == []
    return done


def test_training_run_failed_by_a_sick_host_uses_no_try(ctx, tmp_path):  # noqa: F811 - fixture
    sub_id = submit(ctx, make_handin_tar())
    assert grade_submission(ctx, submission_id=sub_id, attempt=1, owner="w1") == "graded"
    [run] = runs(ctx, sub_id)
    assert run.training == "pending"
    sick = no_retries(ctx)
    assert while_sick(sick, lambda: train_run(sick, run_id=run.id), tmp_path) == ["retry"]
    [run] = runs(ctx, sub_id)
    assert run.training == "pending"  # not recorded failed: the host's fault, not the run's
    assert train_run(sick, run_id=run.id) == "done"  # the message sent again, on a well host
