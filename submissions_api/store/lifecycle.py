"""Every state change of a submission, a grading run, a training run, a regrade and a golden set.

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

    submission   queued → running (claim) → graded | queued (retry) | failed   [record_run]
                 running → queued (requeue: lease lost, a regrade) | failed (fail_submission)
                 graded | failed → queued (requeue: a regrade)
    grading run  one per (submission, attempt), written by record_run: a RunOutcome
    training run pending → done | failed [record_training]; re-sends counted [training_resent]
    regrade item pending → done | failed (its run recorded) or skipped at once [create_regrade]
    golden set   generating → verifying → ready | canary_failed; → error      [golden_*]
                 the service's own is leased to its maker, renewed while it lives
                 [ensure_golden_set, renew_golden_lease]
                 ready (canary passed) → the assignment's active set          [activate_*]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grader.results import GradeReport
from submissions_api.lms import outbox
from submissions_api.store.crud.blobs import put_blob
from submissions_api.store.crud.clock import db_now
from submissions_api.store.jsonsafe import json_safe
from submissions_api.store.models import Assignment, User
from submissions_api.store.models_golden import GoldenSet, GoldenStatus
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
                     lease_seconds: float) -> bool:
    """Take the lease of this attempt; False when the message is stale or someone holds it.
    The lease's expiry is on the database's clock, the one every host's reaper compares."""
    now = db_now(session)
    return _cas(session, submission_id=submission_id, attempt=attempt, statuses=(Status.QUEUED,),
                values={"status": Status.RUNNING, "lease_owner": owner, "started_at": now,
                        "progress": None,
                        "lease_expires_at": now + timedelta(seconds=lease_seconds)})


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


def record_run(session: Session, *, submission: Submission, attempt: int, owner: str,
               report: GradeReport | None, error: str, started_at: datetime,
               next_status: Status, values: dict[str, Any] | None = None,
               training: bool = False, golden_set_id: int | None = None,
               retry_in: float | None = None) -> GradingRun | None:
    """Write the one result of this attempt (`report`: None when we failed) and move the
    submission to `next_status`, if we still hold the lease; None (and nothing written) when
    the attempt was taken from us. `training`: a training run follows
    (record_training). `retry_in`: next_status is queued, attempt+1 is sent after that many
    seconds (enqueued then, on the database's clock, for the reaper)."""
    graded = report is not None
    now = db_now(session)
    changes = {"status": next_status, "lease_owner": None, "lease_expires_at": None,
               **(values or {})}
    if retry_in is not None:
        changes.update(attempts=attempt + 1, enqueued_at=now + timedelta(seconds=retry_in))
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


def requeue(session: Session, *, submission_id: int, attempt: int, from_status: Status,
            extra: dict[str, Any] | None = None) -> int | None:
    """Start attempt+1 of a submission (its message is sent by the caller after commit);
    None when the submission moved on meanwhile."""
    values = {"status": Status.QUEUED, "attempts": attempt + 1, "lease_owner": None,
              "lease_expires_at": None, "enqueued_at": db_now(session), **(extra or {})}
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
                    artifacts: dict[str, bytes], status: TrainingStatus) -> bool:
    """Attach a training run's outcome (the report with its evidence; the plots) to a graded
    run, once: False when it was recorded already (a duplicate message)."""
    values: dict[str, Any] = {"report": json_safe(report.to_dict()),
                              "training": TrainingStatus(status)}
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
        attempt = requeue(session, submission_id=sub.id, attempt=sub.attempts, from_status=status,
                          extra={"queue": QueueKind.BULK, "regrade_id": regrade.id,
                                 "infra_failures": 0}) \
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


# -- golden sets --------------------------------------------------------------------------------

def _golden_cas(session: Session, *, golden_id: int, statuses: tuple[GoldenStatus, ...],
                values: dict[str, Any]) -> bool:
    result = session.execute(update(GoldenSet).where(GoldenSet.id == golden_id,
                                                     GoldenSet.status.in_(statuses))
                             .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def golden_generated(session: Session, *, golden_id: int, version: str, sha256: str,
                     manifest: dict[str, Any], archive_sha256: str) -> bool:
    """generating → verifying, with the set made (its archive stored as a blob)."""
    return _golden_cas(session, golden_id=golden_id, statuses=(GoldenStatus.GENERATING,), values={
        "status": GoldenStatus.VERIFYING, "version": version, "sha256": sha256,
        "numpy_version": manifest.get("numpy"), "manifest": manifest,
        "archive_sha256": archive_sha256})


def golden_verified(session: Session, *, golden_id: int, canary: dict[str, Any]
                    ) -> GoldenStatus | None:
    """verifying → ready or canary_failed, by the canary's result; None when not verifying."""
    passed = bool(canary["passed"])
    status = GoldenStatus.READY if passed else GoldenStatus.CANARY_FAILED
    ok = _golden_cas(session, golden_id=golden_id, statuses=(GoldenStatus.VERIFYING,), values={
        "status": status, "canary": canary, "canary_passed": passed})
    return status if ok else None


def golden_failed(session: Session, *, golden_id: int, error: str) -> bool:
    """generating | verifying → error (ours: shown to the instructor on the row)."""
    return _golden_cas(session, golden_id=golden_id,
                       statuses=(GoldenStatus.GENERATING, GoldenStatus.VERIFYING),
                       values={"status": GoldenStatus.ERROR, "error": error[:4000]})


def activate_golden_set(session: Session, *, assignment: Assignment, golden: GoldenSet,
                        by: User | None) -> bool:
    """Grade new submissions of `assignment` with `golden`; False (nothing changed) unless the
    set is ready with its canary passed. `by` None: the service itself (ensure_golden_set)."""
    if golden.status != GoldenStatus.READY or golden.canary_passed is not True:
        return False
    golden.activated_at, golden.activated_by_id = db_now(session), by.id if by else None
    assignment.active_golden_id = golden.id
    session.flush()
    return True


def activate_if_none(session: Session, *, golden: GoldenSet) -> bool:
    """Make a ready set the active one only while its assignment has none (the set the service
    made for itself must not replace one an instructor activated meanwhile)."""
    if golden.status != GoldenStatus.READY or golden.canary_passed is not True:
        return False
    won = session.execute(update(Assignment).where(Assignment.id == golden.assignment_id,
                                                   Assignment.active_golden_id.is_(None))
                          .values(active_golden_id=golden.id)
                          .execution_options(synchronize_session=False)).rowcount == 1
    if won:
        golden.activated_at = db_now(session)
        session.flush()
    return won


def _active_golden_id(session: Session, assignment_id: int) -> int | None:
    return session.scalar(select(Assignment.active_golden_id)
                          .where(Assignment.id == assignment_id))


def ensure_golden_set(session: Session, *, assignment_id: int, owner: str, lease_seconds: float
                      ) -> tuple[GoldenSet | None, bool]:
    """The set gradings of an assignment use: (its active set, False) when there is one;
    else (the set the service is making for itself, False) while its maker holds the lease;
    else a new such set, generating, leased to `owner`, and True: the caller makes it
    (generate, canary, activate_if_none) after committing, renewing the lease meanwhile
    (renew_golden_lease). One at a time per assignment, on any number of workers: a write on
    the assignment's row first serialises callers (a row lock on PostgreSQL, the write lock on
    SQLite). A set whose lease ran out (its maker died) is marked error and replaced."""
    active = _active_golden_id(session, assignment_id)
    if active is not None:  # the usual case: no write, so gradings do not queue on the row
        return session.get(GoldenSet, active), False
    session.execute(update(Assignment).where(Assignment.id == assignment_id)
                    .values(active_golden_id=Assignment.active_golden_id)
                    .execution_options(synchronize_session=False))
    active = _active_golden_id(session, assignment_id)  # again, now that callers are in line
    if active is not None:
        return session.get(GoldenSet, active), False
    now = db_now(session)
    live = golden_being_made(session, assignment_id=assignment_id, now=now)
    if live is not None:
        return live, False
    for golden in _service_sets_making(session, assignment_id):
        golden_failed(session, golden_id=golden.id,
                      error=f"abandoned: its maker {golden.lease_owner or ''} was lost".strip())
    golden = GoldenSet(assignment_id=assignment_id, created_by_id=None,
                       status=GoldenStatus.GENERATING, created_at=now, lease_owner=owner,
                       lease_expires_at=now + timedelta(seconds=lease_seconds))
    session.add(golden)
    session.flush()
    return golden, True


def _service_sets_making(session: Session, assignment_id: int) -> Sequence[GoldenSet]:
    return session.scalars(select(GoldenSet).where(
        GoldenSet.assignment_id == assignment_id, GoldenSet.created_by_id.is_(None),
        GoldenSet.status.in_((GoldenStatus.GENERATING, GoldenStatus.VERIFYING)))
        .order_by(GoldenSet.id)).all()


def golden_being_made(session: Session, *, assignment_id: int, now: datetime
                      ) -> GoldenSet | None:
    """The set the service is making for the assignment while its maker's lease holds."""
    for golden in _service_sets_making(session, assignment_id):
        if golden.lease_expires_at is not None and golden.lease_expires_at > now:
            return golden
    return None


def renew_golden_lease(session: Session, *, golden_id: int, owner: str, lease_seconds: float
                       ) -> bool:
    """Keep making a set (only while `owner` holds it and it is not finished)."""
    result = session.execute(update(GoldenSet).where(
        GoldenSet.id == golden_id, GoldenSet.lease_owner == owner,
        GoldenSet.status.in_((GoldenStatus.GENERATING, GoldenStatus.VERIFYING)))
        .values(lease_expires_at=db_now(session) + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False))
    return result.rowcount == 1
