"""Every SQL statement of the service, as keyword-only functions taking a Session.

State changes of a submission are compare-and-set UPDATEs on (id, attempts, status[, lease_owner])
so that a stale message, a slow worker whose lease expired, or two reapers at once can never record
a second result for one attempt or resurrect finished work.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from submissions_api.store.models import (
    ApiToken,
    Assignment,
    Blob,
    Extension,
    GoldenSet,
    GradingRun,
    ManualGrade,
    Regrade,
    RegradeItem,
    Role,
    Status,
    Submission,
    User,
    utcnow,
)
from submissions_api.views import run_summary

# -- users and tokens ---------------------------------------------------------------------------

def create_user(session: Session, *, login: str, name: str = "", role: str = Role.STUDENT) -> User:
    user = User(login=login, name=name, role=Role(role))
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, *, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_user_by_login(session: Session, *, login: str) -> User | None:
    return session.scalar(select(User).where(User.login == login))


def list_users(session: Session, *, role: str | None = None) -> Sequence[User]:
    query = select(User).order_by(User.login)
    if role:
        query = query.where(User.role == role)
    return session.scalars(query).all()


def add_token(session: Session, *, user: User, token_hash: str, label: str = "") -> ApiToken:
    """Store a token's hash for `user` (the token itself is never stored)."""
    row = ApiToken(user_id=user.id, token_hash=token_hash, label=label)
    session.add(row)
    session.flush()
    return row


def user_for_token_hash(session: Session, *, token_hash: str) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash,
                                                ApiToken.revoked_at.is_(None)))
    return row.user if row else None


# -- assignments and extensions -----------------------------------------------------------------

def sync_assignments(session: Session) -> list[Assignment]:
    """Create or refresh a row for every assignment the grader knows (rubric as data)."""
    from grader import __version__
    from grader.assignment import list_assignments, load_assignment

    rows = []
    for slug in list_assignments():
        a = load_assignment(slug)
        row = get_assignment(session, slug=slug) or Assignment(slug=slug)
        row.title, row.max_score = a.title, a.max_score
        row.rubric_version = __version__
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def get_assignment(session: Session, *, slug: str) -> Assignment | None:
    return session.scalar(select(Assignment).where(Assignment.slug == slug))


def get_assignment_by_id(session: Session, *, assignment_id: int) -> Assignment | None:
    return session.get(Assignment, assignment_id)


def list_assignments(session: Session) -> Sequence[Assignment]:
    return session.scalars(select(Assignment).order_by(Assignment.slug)).all()


def update_assignment(session: Session, *, assignment: Assignment, changes: dict[str, Any]
                      ) -> Assignment:
    for key, value in changes.items():
        setattr(assignment, key, value)
    session.flush()
    return assignment


def get_extension(session: Session, *, assignment: Assignment, user: User) -> Extension | None:
    return session.scalar(select(Extension).where(Extension.assignment_id == assignment.id,
                                                  Extension.user_id == user.id))


def set_extension(session: Session, *, assignment: Assignment, user: User, deadline: datetime,
                  late_deadline: datetime | None, reason: str, granted_by: User) -> Extension:
    ext = get_extension(session, assignment=assignment, user=user) or \
        Extension(assignment_id=assignment.id, user_id=user.id)
    ext.deadline, ext.late_deadline, ext.reason = deadline, late_deadline, reason
    ext.granted_by_id = granted_by.id
    session.add(ext)
    session.flush()
    return ext


def list_extensions(session: Session, *, assignment: Assignment) -> Sequence[tuple[Extension, User]]:
    return session.execute(select(Extension, User).join(User, Extension.user_id == User.id)
                           .where(Extension.assignment_id == assignment.id)
                           .order_by(User.login)).tuples().all()


def delete_extension(session: Session, *, extension: Extension) -> None:
    session.delete(extension)
    session.flush()


# -- blobs and submissions ----------------------------------------------------------------------

def put_blob(session: Session, *, data: bytes) -> str:
    """Store bytes under their sha256 (once) and return it."""
    sha = hashlib.sha256(data).hexdigest()
    if session.get(Blob, sha) is None:
        # Two uploads of the same bytes at once (a deadline rush, identical training plots)
        # both miss the get(): the second insert must yield, not fail the upload.
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[
            session.get_bind().dialect.name]
        session.execute(insert(Blob).values(sha256=sha, size=len(data), data=data)
                        .on_conflict_do_nothing(index_elements=[Blob.sha256]))
    return sha


def get_blob(session: Session, *, sha256: str) -> bytes | None:
    blob = session.get(Blob, sha256)
    return blob.data if blob else None


def lock_user(session: Session, *, user: User) -> None:
    """Serialise one student's uploads (limit and cooldown checks) on PostgreSQL; SQLite
    serialises writers anyway."""
    session.execute(select(User.id).where(User.id == user.id).with_for_update())


def counted_submissions(session: Session, *, assignment: Assignment, user: User
                        ) -> tuple[int, datetime | None]:
    """How many of the student's submissions count toward the limit, and the latest one's time."""
    row = session.execute(select(func.count(Submission.id), func.max(Submission.received_at))
                          .where(Submission.assignment_id == assignment.id,
                                 Submission.user_id == user.id,
                                 Submission.counts_toward_limit.is_(True))).one()
    latest = row[1]
    if latest is not None and latest.tzinfo is None:  # func.max bypasses the column type
        from datetime import UTC
        latest = latest.replace(tzinfo=UTC)
    return row[0], latest


def create_submission(session: Session, *, user: User, assignment: Assignment, data: bytes,
                      filename: str, received_at: datetime, late: bool, penalty: float
                      ) -> Submission:
    sha = put_blob(session, data=data)
    sub = Submission(user_id=user.id, assignment_id=assignment.id, blob_sha256=sha,
                     size=len(data), filename=filename[:255], received_at=received_at,
                     late=late, late_penalty=penalty, status=Status.QUEUED, queue="live",
                     attempts=1, enqueued_at=received_at)
    session.add(sub)
    session.flush()
    return sub


def get_submission(session: Session, *, submission_id: int) -> Submission | None:
    return session.get(Submission, submission_id)


def list_submissions(session: Session, *, assignment_id: int | None = None,
                     user_id: int | None = None, status: str | None = None,
                     limit: int = 100, offset: int = 0) -> Sequence[Submission]:
    query = (select(Submission).options(selectinload(Submission.user))  # one query, not one a row
             .order_by(Submission.id.desc()).limit(limit).offset(offset))
    if assignment_id is not None:
        query = query.where(Submission.assignment_id == assignment_id)
    if user_id is not None:
        query = query.where(Submission.user_id == user_id)
    if status:
        query = query.where(Submission.status == status)
    return session.scalars(query).all()


def queue_position(session: Session, *, submission: Submission) -> int:
    """1 when next in its queue, 0 when no longer queued."""
    if submission.status != Status.QUEUED:
        return 0
    ahead = session.scalar(select(func.count(Submission.id)).where(
        Submission.status == Status.QUEUED, Submission.queue == submission.queue,
        Submission.id < submission.id))
    return int(ahead or 0) + 1


def list_runs(session: Session, *, submission_id: int) -> Sequence[GradingRun]:
    return session.scalars(select(GradingRun).where(GradingRun.submission_id == submission_id)
                           .order_by(GradingRun.attempt)).all()


def get_run(session: Session, *, run_id: int | None) -> GradingRun | None:
    return session.get(GradingRun, run_id) if run_id is not None else None


# -- the worker's side: claim, lease, record ----------------------------------------------------

def _cas(session: Session, *, submission_id: int, attempt: int, statuses: tuple[str, ...],
         values: dict[str, Any], owner: str | None = None) -> bool:
    conditions = [Submission.id == submission_id, Submission.attempts == attempt,
                  Submission.status.in_(statuses)]
    if owner is not None:
        conditions.append(Submission.lease_owner == owner)
    result = session.execute(update(Submission).where(*conditions).values(**values)
                             .execution_options(synchronize_session=False))
    return result.rowcount == 1


def claim_submission(session: Session, *, submission_id: int, attempt: int, owner: str,
                     lease_seconds: float) -> bool:
    """Take the lease of this attempt; False when the message is stale or someone holds it."""
    now = utcnow()
    return _cas(session, submission_id=submission_id, attempt=attempt, statuses=(Status.QUEUED,),
                values={"status": Status.RUNNING, "lease_owner": owner,
                        "lease_expires_at": now + timedelta(seconds=lease_seconds)})


def renew_lease(session: Session, *, submission_id: int, attempt: int, owner: str,
                lease_seconds: float) -> bool:
    return _cas(session, submission_id=submission_id, attempt=attempt,
                statuses=(Status.RUNNING,), owner=owner,
                values={"lease_expires_at": utcnow() + timedelta(seconds=lease_seconds)})


def record_run(session: Session, *, submission: Submission, attempt: int, owner: str,
               report: dict[str, Any] | None, error: str, started_at: datetime,
               next_status: str, values: dict[str, Any] | None = None,
               training: str | None = None) -> GradingRun | None:
    """Write the one result of this attempt and move the submission on, if we still hold the
    lease; None (and nothing written) when the attempt was taken from us. `training`: "pending"
    when a training run is to follow (record_training)."""
    graded = report is not None
    changes = {"status": next_status, "lease_owner": None, "lease_expires_at": None,
               **(values or {})}
    if not _cas(session, submission_id=submission.id, attempt=attempt,
                statuses=(Status.RUNNING,), owner=owner, values=changes):
        return None
    run = GradingRun(submission_id=submission.id, attempt=attempt,
                     reason="regrade" if submission.regrade_id else "submit",
                     regrade_id=submission.regrade_id,
                     outcome="graded" if graded else "infrastructure_error",
                     score=report["score"] if graded else None,
                     max_score=report["max_score"] if graded else None,
                     golden_version=(report or {}).get("golden_version", ""),
                     grader_version=(report or {}).get("grader_version", ""),
                     report=report, error=error, worker=owner, started_at=started_at,
                     summary=run_summary(report) if graded else None,
                     training=training if graded else None)
    session.add(run)
    session.flush()
    if graded:
        session.execute(update(Submission).where(Submission.id == submission.id).values(
            current_run_id=run.id, score=run.score, error=""))
    if submission.regrade_id and next_status in (Status.GRADED, Status.FAILED):
        _finish_regrade_item(session, submission=submission, run=run)
    return run


def record_training(session: Session, *, run_id: int, report: dict[str, Any],
                    artifacts: dict[str, bytes], status: str) -> bool:
    """Attach a training run's outcome (report with the evidence, plots) to a graded run, once:
    False when it was recorded already (a duplicate message)."""
    values: dict[str, Any] = {"report": report, "training": status}
    if artifacts:
        values["artifacts"] = {name: put_blob(session, data=data)
                               for name, data in sorted(artifacts.items())}
    done = session.execute(update(GradingRun).where(GradingRun.id == run_id,
                                                    GradingRun.training == "pending")
                           .values(**values))
    return done.rowcount == 1


def pending_training(session: Session, *, before: datetime) -> Sequence[GradingRun]:
    """Graded runs whose training run has waited since before `before` (a lost message)."""
    return session.scalars(select(GradingRun).where(GradingRun.training == "pending",
                                                    GradingRun.finished_at < before)
                           .order_by(GradingRun.id)).all()


def _finish_regrade_item(session: Session, *, submission: Submission, run: GradingRun) -> None:
    session.execute(update(RegradeItem).where(
        RegradeItem.regrade_id == submission.regrade_id,
        RegradeItem.submission_id == submission.id).values(
        status="done" if run.outcome == "graded" else "failed",
        after_score=run.score, after_run_id=run.id if run.outcome == "graded" else None))


def requeue(session: Session, *, submission_id: int, attempt: int, from_status: str,
            enqueued_at: datetime | None = None, extra: dict[str, Any] | None = None
            ) -> int | None:
    """Start attempt+1 of a submission (its message is sent by the caller after commit);
    None when the submission moved on meanwhile."""
    values = {"status": Status.QUEUED, "attempts": attempt + 1, "lease_owner": None,
              "lease_expires_at": None, "enqueued_at": enqueued_at or utcnow(), **(extra or {})}
    ok = _cas(session, submission_id=submission_id, attempt=attempt, statuses=(from_status,),
              values=values)
    return attempt + 1 if ok else None


def fail_submission(session: Session, *, submission_id: int, attempt: int, from_status: str,
                    error: str) -> bool:
    """Give up on a submission we could not grade: failed, and it does not count."""
    return _cas(session, submission_id=submission_id, attempt=attempt, statuses=(from_status,),
                values={"status": Status.FAILED, "counts_toward_limit": False, "error": error,
                        "lease_owner": None, "lease_expires_at": None})


def expired_leases(session: Session, *, now: datetime) -> Sequence[Submission]:
    return session.scalars(select(Submission).where(Submission.status == Status.RUNNING,
                                                    Submission.lease_expires_at < now)).all()


def stale_queued(session: Session, *, before: datetime) -> Sequence[Submission]:
    return session.scalars(select(Submission).where(Submission.status == Status.QUEUED,
                                                    Submission.enqueued_at < before)).all()


# -- regrades -----------------------------------------------------------------------------------

def regrade_candidates(session: Session, *, assignment: Assignment, latest_only: bool
                       ) -> Sequence[Submission]:
    query = select(Submission).where(Submission.assignment_id == assignment.id)
    if latest_only:
        latest = (select(func.max(Submission.id)).where(Submission.assignment_id == assignment.id)
                  .group_by(Submission.user_id))
        query = query.where(Submission.id.in_(latest))
    return session.scalars(query.order_by(Submission.id)).all()


def create_regrade(session: Session, *, assignment: Assignment, scope: str, requested_by: User,
                   submissions: Sequence[Submission]) -> tuple[Regrade, list[tuple[int, int]]]:
    """A regrade of `submissions` on the bulk queue; returns it and the (id, attempt) to send.
    Submissions still being graded are skipped (their running attempt already uses the active
    golden set)."""
    regrade = Regrade(assignment_id=assignment.id, scope=scope, requested_by_id=requested_by.id)
    session.add(regrade)
    session.flush()
    to_send = []
    for sub in submissions:
        item = RegradeItem(regrade_id=regrade.id, submission_id=sub.id,
                           before_score=sub.score, before_run_id=sub.current_run_id)
        status = sub.status
        attempt = requeue(session, submission_id=sub.id, attempt=sub.attempts, from_status=status,
                          extra={"queue": "bulk", "regrade_id": regrade.id,
                                 "infra_failures": 0}) \
            if status in (Status.GRADED, Status.FAILED) else None
        if attempt is None:
            item.status, item.note = "skipped", f"was {status} when the regrade was asked"
        else:
            to_send.append((sub.id, attempt))
        session.add(item)
    session.flush()
    return regrade, to_send


def get_regrade(session: Session, *, regrade_id: int) -> Regrade | None:
    return session.get(Regrade, regrade_id)


def regrade_items(session: Session, *, regrade: Regrade) -> Sequence[tuple[RegradeItem, User]]:
    return session.execute(select(RegradeItem, User)
                           .join(Submission, RegradeItem.submission_id == Submission.id)
                           .join(User, Submission.user_id == User.id)
                           .where(RegradeItem.regrade_id == regrade.id)
                           .order_by(RegradeItem.submission_id)).tuples().all()


# -- golden sets --------------------------------------------------------------------------------

def create_golden_set(session: Session, *, assignment: Assignment, created_by: User,
                      status: str, values: dict[str, Any] | None = None) -> GoldenSet:
    row = GoldenSet(assignment_id=assignment.id, created_by_id=created_by.id, status=status,
                    **(values or {}))
    session.add(row)
    session.flush()
    return row


def get_golden_set(session: Session, *, golden_id: int) -> GoldenSet | None:
    return session.get(GoldenSet, golden_id)


def list_golden_sets(session: Session, *, assignment: Assignment) -> Sequence[GoldenSet]:
    return session.scalars(select(GoldenSet).where(GoldenSet.assignment_id == assignment.id)
                           .order_by(GoldenSet.id)).all()


def update_golden_set(session: Session, *, golden: GoldenSet, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(golden, key, value)
    session.flush()


def activate_golden_set(session: Session, *, assignment: Assignment, golden: GoldenSet,
                        by: User) -> None:
    golden.activated_at, golden.activated_by_id = utcnow(), by.id
    assignment.active_golden_id = golden.id
    session.flush()


# -- manual grades ------------------------------------------------------------------------------

def manual_grades(session: Session, *, submission_ids: Sequence[int]
                  ) -> dict[int, list[ManualGrade]]:
    """The manual grades of each submission (an empty list for those without any)."""
    grades: dict[int, list[ManualGrade]] = {i: [] for i in submission_ids}
    if submission_ids:
        for g in session.scalars(select(ManualGrade)
                                 .where(ManualGrade.submission_id.in_(list(submission_ids)))
                                 .order_by(ManualGrade.id)):
            grades.setdefault(g.submission_id, []).append(g)
    return grades


def manual_items_graded(session: Session, *, assignment: Assignment) -> dict[int, set[str]]:
    """For each submission of the assignment with manual grades, the items graded."""
    out: dict[int, set[str]] = {}
    for sub_id, item in session.execute(
            select(ManualGrade.submission_id, ManualGrade.item_id)
            .join(Submission, Submission.id == ManualGrade.submission_id)
            .where(Submission.assignment_id == assignment.id)):
        out.setdefault(sub_id, set()).add(item)
    return out


def set_manual_grade(session: Session, *, submission: Submission, item_id: str, points: float,
                     comment: str, grader: User) -> ManualGrade:
    """Record (or replace) a TA's points for one manual item; the submission's manual_score is
    the sum of its items' points."""
    grade = session.scalars(select(ManualGrade).where(
        ManualGrade.submission_id == submission.id, ManualGrade.item_id == item_id)).first()
    if grade is None:
        grade = ManualGrade(submission_id=submission.id, item_id=item_id)
        session.add(grade)
    grade.points, grade.comment = points, comment
    grade.graded_by_id, grade.graded_at = grader.id, utcnow()
    session.flush()
    submission.manual_score = session.scalar(
        select(func.sum(ManualGrade.points)).where(ManualGrade.submission_id == submission.id))
    session.flush()
    return grade


def recent_grading_seconds(session: Session, *, last: int = 20) -> float | None:
    """Mean wall time of the last graded runs (for wait estimates), or None without any."""
    runs = session.execute(select(GradingRun.started_at, GradingRun.finished_at)
                           .where(GradingRun.outcome == "graded",
                                  GradingRun.started_at.is_not(None))
                           .order_by(GradingRun.id.desc()).limit(last)).all()
    spans = [(f - s).total_seconds() for s, f in runs if s and f]
    return sum(spans) / len(spans) if spans else None


# -- gradebook and statistics -------------------------------------------------------------------

class StudentRow(NamedTuple):
    login: str
    name: str


class SubmissionRow(NamedTuple):
    id: int
    received_at: datetime
    status: str
    score: float | None
    late_penalty: float
    late: bool
    manual_score: float | None


def gradebook_rows(session: Session, *, assignment: Assignment
                   ) -> list[tuple[StudentRow, SubmissionRow | None]]:
    """Every student with each of their submissions (outer join: students without any too), as
    plain rows: the class-wide views read thousands, which ORM objects made slow."""
    rows = session.execute(
        select(User.login, User.name, Submission.id, Submission.received_at, Submission.status,
               Submission.score, Submission.late_penalty, Submission.late,
               Submission.manual_score)
        .outerjoin(Submission, and_(Submission.user_id == User.id,
                                    Submission.assignment_id == assignment.id))
        .where(or_(User.role == Role.STUDENT, Submission.id.is_not(None)))
        .order_by(User.login, Submission.id)).all()
    return [(StudentRow(r[0], r[1]), SubmissionRow(*r[2:]) if r[2] is not None else None)
            for r in rows]


def current_summaries(session: Session, *, submission_ids: Sequence[int]
                      ) -> list[dict[str, Any]]:
    """The run summaries (views.run_summary) of these submissions' current runs."""
    if not submission_ids:
        return []
    rows = session.execute(select(GradingRun.id, GradingRun.summary).join(
        Submission, Submission.current_run_id == GradingRun.id)
        .where(Submission.id.in_(submission_ids))).all()
    summaries = [summary for _, summary in rows if summary]
    missing = [run_id for run_id, summary in rows if not summary]  # runs older than the column
    if missing:
        summaries += [run_summary(r) for r in session.scalars(
            select(GradingRun.report).where(GradingRun.id.in_(missing))) if r]
    return summaries


def status_counts(session: Session, *, assignment: Assignment) -> dict[str, int]:
    rows = session.execute(select(Submission.status, func.count(Submission.id))
                           .where(Submission.assignment_id == assignment.id)
                           .group_by(Submission.status)).all()
    return {status: count for status, count in rows}
