"""A worker host's own health: after a grading fails on our side, the host checks itself (it can
write to its temporary folder and its data folder, its student runtime is there, its sandbox
runs a trivial job of ours: worker/smoke.py). A host whose
check fails is sick: the failure is not charged to the hand-in (retried at once, by a host that
is well), the host says so (the `worker_hosts` table: the health endpoint, /metrics and the queue
page read it), and the process takes no more work until its check passes again. Once no host is
sick, the submissions that ended `failed` through our fault are re-graded, once (the reaper)."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from grader.settings import load_settings as grader_settings
from submissions_api.settings import Settings
from submissions_api.store import crud, lifecycle
from submissions_api.store.models_grading import QueueKind
from worker.context import WorkerContext
from worker.smoke import sandbox_check

log = logging.getLogger(__name__)

PROBE_BYTES = 1024 * 1024
"""What the check writes to each folder: a grading needs at least this much room."""


def host_name(settings: Settings) -> str:
    """This host (several data folders on one machine are several hosts, as in the tests)."""
    return os.environ.get("MLPGRADE_HOST_NAME") or f"{socket.gethostname()}:{settings.home}"


def self_check(settings: Settings) -> str:
    """Why this host cannot grade now, or "" when it can."""
    for folder in (Path(tempfile.gettempdir()), settings.home):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".mlpgrade-check-") as probe:
                probe.write(os.urandom(PROBE_BYTES))
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as exc:
            return f"cannot write to {folder}: {exc.strerror or exc}"
    runtime = grader_settings().runtime_python
    if runtime is not None and not runtime.exists():
        return f"the student runtime {runtime} is missing"
    return ""


def check(ctx: WorkerContext) -> str:
    """`self_check`, then (when it passes) the sandbox smoke run: why this host cannot grade,
    or "". Only after one of our failures and while sick, never per grading: the failure may
    be the sandbox's whatever exception it surfaced as, and the smoke job (ours, independent of
    the hand-in) tells a broken backend from a hand-in that made its own grading fail."""
    return self_check(ctx.settings) or sandbox_check(ctx.sandbox_factory)


def report(ctx: WorkerContext, reason: str) -> None:
    with ctx.sessions() as session:
        crud.report_host(session, name=host_name(ctx.settings), reason=reason,
                         now=crud.db_now(session))
        session.commit()


def sick_after_failure(ctx: WorkerContext) -> str:
    """After one of our failures: why this host is sick ("" when its check passes)."""
    reason = check(ctx)
    if reason:
        log.error("this host is sick, it takes no work until its check passes: %s", reason)
        try:
            report(ctx, reason)
        except Exception:  # the database may be what is down: the check goes on
            log.exception("could not report this host sick")
    return reason


def hand_over_if_sick(ctx: WorkerContext, send_again: Callable[[], object]) -> bool:
    """After one of our failures in a job whose only record is its message (a training run, a
    golden set): when this host is sick, the job is sent again for a well host, and this worker
    holds until its check passes; True then."""
    if not sick_after_failure(ctx):
        return False
    send_again()
    wait_until_well(ctx)
    return True


def wait_until_well(ctx: WorkerContext) -> None:
    """Hold this worker process (it takes no message meanwhile) until its check passes, then
    say the host is well again."""
    while reason := check(ctx):
        time.sleep(ctx.settings.self_check_interval)
        try:
            report(ctx, reason)  # checked_at: the staff see it is still checking
        except Exception:  # as above
            log.exception("could not report this host sick")
    report(ctx, "")
    log.warning("this host's check passes again: taking work")


def regrade_failed(ctx: WorkerContext) -> list[int]:
    """While no host is sick, re-grade (on the bulk queue) each submission that ended failed
    through our fault and was not re-graded this way before; the ids sent."""
    sent: list[tuple[int, int]] = []
    with ctx.sessions() as session:
        if crud.sick_hosts(session):
            return []
        by_assignment: dict[int, list] = {}
        for sub in crud.failed_ours(session):
            by_assignment.setdefault(sub.assignment_id, []).append(sub)
        for subs in by_assignment.values():
            _, to_send = lifecycle.create_regrade(session, assignment=subs[0].assignment,
                                                  scope=crud.AUTO_REGRADE, requested_by=None,
                                                  submissions=subs)
            sent += to_send
        session.commit()
    for submission_id, attempt in sent:
        ctx.dispatcher.send_grade(submission_id, attempt, kind=QueueKind.BULK)
    if sent:
        log.warning("re-grading submissions that failed through our fault: %s",
                    [s for s, _ in sent])
    return [s for s, _ in sent]
