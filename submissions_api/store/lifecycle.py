"""Every state change of a submission, a grading run, a training run and a regrade.

Each change is a compare-and-set UPDATE: it names the state it starts from (and for a
submission the attempt number and the lease owner), so a stale message, a slow worker whose lease
expired, or two reapers at once can never record a second result for one attempt or resurrect
finished work. A function returns whether it won (or None / the new attempt); the caller commits,
then sends any message (never before: a worker could see the old row). Every time written here
is the database's (`crud.db_now`), so hosts with drifting clocks still agree on a lease.

Every write here (and in `crud`) to a table a class-wide view reads also moves the class revision
(`store/revision.py`) in the same transaction, with no call for it here: session events notice
the write and bump the revision when the caller commits. A write made outside the ORM
(hand-written SQL) must bump it itself.

    submission   queued → running (claim) → graded [record_graded]
                     | queued (our failure, retried) | failed (budget spent) [record_failure]
                 running → queued (its worker lost) [requeue_lost] | failed [fail_lost]
                 queued → queued (its message lost) [requeue]
                 graded | failed | running → queued (a regrade) [create_regrade]
                 any → failed, not counted [fail_submission]
    grading run  one per (submission, attempt), written with the submission's change: a RunOutcome
    training run pending → done [record_training] | failed [training_failed];
                 re-sends counted [training_resent]
    regrade item pending → done | failed (its run recorded) or skipped at once [create_regrade]

A golden set's changes are in store/golden_lifecycle.py, by the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grader.results import GradeReport, TrainingResult
from submissions_api.lms import outbox
from submissions_api.store.crud.blobs import put_blob
from submissions_api.store.crud.clock import db_now
from submissions_api.store.jsonsafe import json_safe
from submissions_api.store.models import Assignment, User
from submissions_api.store.models_grading import (
    GradingRun,
    ItemStatus,
    QueueKind,
    Regrade,
    RegradeItem,
    RunOutcome,
    RunReason,
    Status,
    Submission,
    TrainingStatus,
)
from submissions_api.store.summary import run_summary

# -- submissions --------------------------------------------------------------------------------

def _cas(session: Session, *, submission_id: int, attempt: int, statuses: tuple[str, ...],
         values: dict[str, Any], owner: str | None = None) -> bool:
    conditions = [Submission.id == submission_id, Submission.attempts == attempt,
                  Submission.status.in_(statuses)]
    if owner is not None:
        conditions.append(Submission.lease_owner == owner)
    result = session.execute(update(Submission).where(*conditions).values(**values)
                             .execution_options(synchronize_session=False))
    return result.rowcount == 1


def postpone(session: Session, *, submission_id: int, attempt: int, delay: float) -> bool:
    """A queued attempt waits `delay` seconds more (its message is sent again by the caller
    after commit), costing no retry: its assignment has no golden set yet. False when the
    message is stale (the attempt moved on)."""
    return _cas(session, submission_id=submission_id, attempt=attempt, statuses=(Status.QUEUED,),
                values={"enqueued_at": db_now(session) + timedelta(seconds=delay)})


def claim_submission(session: Session, *, submission_id: int, attempt: int, owner: str,
                     lease_seconds: float) -> datetime | None:
    """Take the lease of this attempt: when it was taken (the attempt's `started_at`), or None
    when the message is stale or someone holds it. The lease's expiry is on the database's
    clock, the one every host's reaper compares."""
    now = db_now(session)
    won = _cas(session, submission_id=submission_id, attempt=attempt, statuses=(Status.QUEUED,),
               values={"status": Status.RUNNING, "lease_owner": owner, "started_at": now,
                       "progress": None,
                       "lease_expires_at": now + timedelta(seconds=lease_seconds)})
    return now if won else None


def report_progress(session: Session, *, submission_id: int, attempt: int, owner: str,
                    progress: dict[str, Any]) -> bool:
    """Which test of this attempt is running (only while we hold its lease)."""
    return _cas(session, submission_id=submission_id, attempt=attempt,
                statuses=(Status.RUNNING,), owner=owner, values={"progress": progress})


def renew_lease(session: Session, *, submission_id: int, attempt: int, owner: str,
                lease_seconds: float) -> bool:
    return _cas(session, submission_id=submission_id, attempt=attempt,
                statuses=(Status.RUNNING,), owner=owner,
                values={"lease_expires_at": db_now(session) + timedelta(seconds=lease_seconds)})


def record_graded(session: Session, *, submission: Submission, attempt: int, owner: str,
                  started_at: datetime, report: GradeReport, golden_set_id: int | None = None,
                  rubric_version: str = "", training: bool = False) -> GradingRun | None:
    """The attempt was graded: its run holds `report` and the version of the rubric it was
    graded under, the submission is graded with the run's score. `training`: a training run
    follows (record_training). None (nothing written) when the lease was taken from us."""
    return _record_run(session, submission=submission, attempt=attempt, owner=owner,
                       started_at=started_at, next_status=Status.GRADED, report=report,
                       golden_set_id=golden_set_id, rubric_version=rubric_version,
                       training=training)


def record_failure(session: Session, *, submission: Submission, attempt: int, owner: str,
                   started_at: datetime, error: str, failures: int, retry_in: float | None,
                   sick: str = "") -> GradingRun | None:
    """Our failure (`failures` in a row), its run recording `error`. `retry_in` seconds: tried
    again, queued as attempt+1 (enqueued then on the database's clock; the caller sends it);
    None: the retry budget is spent, failed and not counted toward the student's limit.
    `sick`: the host was sick (said on the submission; the failure was not charged)."""
    columns: dict[str, Any] = {"infra_failures": failures, "error": error}
    if retry_in is None:
        columns["counts_toward_limit"] = False
    else:
        columns.update(attempts=attempt + 1, error=f"{error} (on a sick host: {sick})" if sick
                       else error, enqueued_at=db_now(session) + timedelta(seconds=retry_in))
    return _record_run(session, submission=submission, attempt=attempt, owner=owner,
                       started_at=started_at, error=error, columns=columns,
                       next_status=Status.FAILED if retry_in is None else Status.QUEUED)


def _record_run(session: Session, *, submission: Submission, attempt: int, owner: str,
                started_at: datetime, next_status: Status, report: GradeReport | None = None,
                error: str = "", columns: dict[str, Any] | None = None,
                golden_set_id: int | None = None, rubric_version: str = "",
                training: bool = False) -> GradingRun | None:
    """Write the one run of this attempt and move the submission to `next_status` with
    `columns`, if we still hold the lease; None (and nothing written) otherwise."""
    graded = report is not None
    now = db_now(session)
    changes = {"status": next_status, "lease_owner": None, "lease_expires_at": None,
               **(columns or {})}
    if not _cas(session, submission_id=submission.id, attempt=attempt,
                statuses=(Status.RUNNING,), owner=owner, values=changes):
        return None
    run = GradingRun(submission_id=submission.id, attempt=attempt,
                     reason=RunReason.REGRADE if submission.regrade_id else RunReason.SUBMIT,
                     regrade_id=submission.regrade_id,
                     outcome=RunOutcome.GRADED if graded else RunOutcome.INFRASTRUCTURE_ERROR,
                     score=report.score if graded else None,
                     max_score=report.max_score if graded else None,
                     golden_version=report.golden_version if graded else "",
                     golden_set_id=golden_set_id,
                     grader_version=report.grader_version if graded else "",
                     rubric_version=rubric_version,
                     report=json_safe(report.to_dict()) if graded else None, error=error,
                     worker=owner, started_at=started_at, finished_at=now,
                     summary=run_summary(report) if graded else None,
                     training=TrainingStatus.PENDING if graded and training else None)
    session.add(run)
    session.flush()
    if graded:
        session.execute(update(Submission).where(Submission.id == submission.id).values(
            current_run_id=run.id, score=run.score, error=""))
    if submission.regrade_id and next_status in (Status.GRADED, Status.FAILED):
        _finish_regrade_item(session, submission=submission, run=run)
    if next_status in (Status.GRADED, Status.FAILED):  # what counts may have changed
        outbox.touch(session, submission.assignment_id, [submission.user_id])
    return run


def requeue(session: Session, *, submission_id: int, attempt: int, from_status: Status
            ) -> int | None:
    """Start attempt+1 of a submission (its message was lost, or it is graded again); its
    message is sent by the caller after commit. None when the submission moved on meanwhile."""
    return _requeue(session, submission_id=submission_id, attempt=attempt,
                    from_status=from_status)


def requeue_lost(session: Session, *, submission_id: int, attempt: int, failures: int
                 ) -> int | None:
    """running → queued as attempt+1: the worker grading it was lost (its lease expired),
    counted as our `failures`-th failure in a row. None when it moved on meanwhile."""
    return _requeue(session, submission_id=submission_id, attempt=attempt,
                    from_status=Status.RUNNING, infra_failures=failures)


def fail_lost(session: Session, *, submission_id: int, attempt: int, failures: int) -> bool:
    """running → failed: the worker grading it was lost once more than the retry budget."""
    return fail_submission(session, submission_id=submission_id, attempt=attempt,
                           from_status=Status.RUNNING,
                           error=f"the worker grading it was lost {failures} times")


def _requeue(session: Session, *, submission_id: int, attempt: int, from_status: Status,
             **columns: Any) -> int | None:
    values = {"status": Status.QUEUED, "attempts": attempt + 1, "lease_owner": None,
              "lease_expires_at": None, "enqueued_at": db_now(session), **columns}
    ok = _cas(session, submission_id=submission_id, attempt=attempt, statuses=(from_status,),
              values=values)
    return attempt + 1 if ok else None


def fail_submission(session: Session, *, submission_id: int, attempt: int, from_status: Status,
                    error: str) -> bool:
    """Give up on a submission we could not grade: failed, and it does not count."""
    failed = _cas(session, submission_id=submission_id, attempt=attempt,
                  statuses=(from_status,),
                  values={"status": Status.FAILED, "counts_toward_limit": False, "error": error,
                          "lease_owner": None, "lease_expires_at": None})
    if failed:  # a regraded submission that failed no longer counts
        owner = session.execute(select(Submission.assignment_id, Submission.user_id)
                                .where(Submission.id == submission_id)).one()
        outbox.touch(session, owner[0], [owner[1]])
    return failed


# -- training runs ------------------------------------------------------------------------------

def record_training(session: Session, *, run_id: int, report: GradeReport,
                    artifacts: dict[str, bytes]) -> bool:
    """pending → done: attach a training run's outcome (the report with its evidence;
    the plots) to a graded run, once: False when it was recorded already (a
    duplicate message)."""
    return _record_training(session, run_id=run_id, report=report, artifacts=artifacts,
                            status=TrainingStatus.DONE)


def training_failed(session: Session, *, run_id: int, item_id: str, error: str) -> bool:
    """pending → failed: the training run could not be made (ours), and why, as the evidence
    of manual item `item_id` for the TA who grades it. False when it was recorded already."""
    run = session.get(GradingRun, run_id)
    if run is None or run.training != TrainingStatus.PENDING:
        return False
    result = TrainingResult(item_id=item_id, evidence={"checks": [], "error": error[:2000]})
    report = GradeReport.from_dict(run.report).with_training(result)
    return _record_training(session, run_id=run_id, report=report, artifacts={},
                            status=TrainingStatus.FAILED)


def _record_training(session: Session, *, run_id: int, report: GradeReport,
                     artifacts: dict[str, bytes], status: TrainingStatus) -> bool:
    values: dict[str, Any] = {"report": json_safe(report.to_dict()), "training": status}
    if artifacts:
        values["artifacts"] = {name: put_blob(session, data=data)
                               for name, data in sorted(artifacts.items())}
    done = session.execute(update(GradingRun).where(GradingRun.id == run_id,
                                                    GradingRun.training == TrainingStatus.PENDING)
                           .values(**values))
    return done.rowcount == 1


def training_resent(session: Session, *, run_id: int, tries: int) -> bool:
    """Count one more re-send of a pending training run (`tries`: the count read before), on
    the database's clock; False when another reaper counted it, or it was recorded, meanwhile."""
    done = session.execute(update(GradingRun).where(
        GradingRun.id == run_id, GradingRun.training == TrainingStatus.PENDING,
        GradingRun.training_tries == tries).values(training_tries=tries + 1,
                                                   training_sent_at=db_now(session)))
    return done.rowcount == 1


# -- regrades -----------------------------------------------------------------------------------

def create_regrade(session: Session, *, assignment: Assignment, scope: str,
                   requested_by: User | None,
                   submissions: Sequence[Submission]) -> tuple[Regrade, list[tuple[int, int]]]:
    """A regrade of `submissions` on the bulk queue; returns it and the (id, attempt) to send.
    `requested_by` None: the service (failed submissions re-graded once it is healthy again).
    Graded, failed and running submissions get a new attempt: a running one may have been
    claimed under the golden set active before (its attempt loses its lease, and its result is
    dropped). Only queued ones are skipped: their grading has not started, so it reads the
    active set."""
    regrade = Regrade(assignment_id=assignment.id, scope=scope,
                      requested_by_id=requested_by.id if requested_by else None)
    session.add(regrade)
    session.flush()
    to_send = []
    for sub in submissions:
        item = RegradeItem(regrade_id=regrade.id, submission_id=sub.id,
                           before_score=sub.score, before_run_id=sub.current_run_id)
        status = Status(sub.status)
        attempt = _requeue(session, submission_id=sub.id, attempt=sub.attempts,
                           from_status=status, queue=QueueKind.BULK, regrade_id=regrade.id,
                           infra_failures=0) \
            if status in (Status.GRADED, Status.FAILED, Status.RUNNING) else None
        if attempt is None:
            item.status = ItemStatus.SKIPPED
            item.note = "queued: its grading will use the active golden set" \
                if status == Status.QUEUED else f"was {status} when the regrade was asked"
        else:
            to_send.append((sub.id, attempt))
        session.add(item)
    session.flush()
    return regrade, to_send


def _finish_regrade_item(session: Session, *, submission: Submission, run: GradingRun) -> None:
    graded = run.outcome == RunOutcome.GRADED
    session.execute(update(RegradeItem).where(
        RegradeItem.regrade_id == submission.regrade_id,
        RegradeItem.submission_id == submission.id,
        RegradeItem.status == ItemStatus.PENDING).values(
        status=ItemStatus.DONE if graded else ItemStatus.FAILED,
        after_score=run.score, after_run_id=run.id if graded else None))
