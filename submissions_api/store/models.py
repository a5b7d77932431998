"""The service's tables (SQLAlchemy 2). Alembic migrations in `migrations/` create them.

A submission's grading is a sequence of attempts; each attempt that finishes writes exactly one
`GradingRun` (unique on submission and attempt), so regrades keep their history and can be diffed.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Role(enum.StrEnum):
    STUDENT = "student"
    TA = "ta"
    INSTRUCTOR = "instructor"


class Status(enum.StrEnum):
    """A submission's current attempt (store/lifecycle.py makes every change)."""

    QUEUED = "queued"
    RUNNING = "running"
    GRADED = "graded"
    FAILED = "failed"


class QueueKind(enum.StrEnum):
    """Which queue an attempt goes to (Settings maps a kind to its queue's name)."""

    LIVE = "live"
    """Students' uploads: never wait behind a regrade."""
    BULK = "bulk"
    """Regrades, golden-set jobs and training runs."""


class RunOutcome(enum.StrEnum):
    GRADED = "graded"
    INFRASTRUCTURE_ERROR = "infrastructure_error"
    """Ours (then the run's score is NULL): retried, never the student's zero."""


class RunReason(enum.StrEnum):
    SUBMIT = "submit"
    REGRADE = "regrade"


class TrainingStatus(enum.StrEnum):
    """A graded run's training run: pending → done | failed."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class GoldenStatus(enum.StrEnum):
    """generating → verifying → ready | canary_failed; error from either of the first two. Being
    the active set is not a status: it is `Assignment.active_golden_id` (only a ready set)."""

    GENERATING = "generating"
    VERIFYING = "verifying"
    READY = "ready"
    CANARY_FAILED = "canary_failed"
    ERROR = "error"


class ItemStatus(enum.StrEnum):
    """One submission of a regrade: pending → done | failed, or skipped at once."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20), default=Role.STUDENT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    email: Mapped[str] = mapped_column(String(320), default="", server_default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """False for a member who left the course (roster sync): never deleted, submissions stay."""
    lms_id: Mapped[str] = mapped_column(String(100), default="", server_default="")
    """The LMS's own id of the person (Canvas's "ID" column), kept from a roster import."""
    sis_user_id: Mapped[str] = mapped_column(String(100), default="", server_default="")
    sis_login_id: Mapped[str] = mapped_column(String(200), default="", server_default="")
    section: Mapped[str] = mapped_column(String(200), default="", server_default="")


class ApiToken(Base):
    """Only the sha256 of a token is kept; the token itself is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    user: Mapped[User] = relationship()


class Assignment(Base):
    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(50), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    rubric_version: Mapped[str] = mapped_column(String(64), default="")
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    active_golden_id: Mapped[int | None] = mapped_column(
        ForeignKey("golden_sets.id", use_alter=True, name="fk_assignment_active_golden"),
        nullable=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    late_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    late_penalty: Mapped[float] = mapped_column(Float, default=0.0)
    """Fraction of the score taken off a submission received after the deadline."""
    submission_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cooldown_seconds: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    """Students do not see the assignment (nor may they submit)."""
    visible_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """Students see the assignment from then on (None: at once)."""
    release_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """Students see their scores and feedback from then on (None: as soon as graded)."""
    canvas_assignment_id: Mapped[str] = mapped_column(String(50), default="", server_default="")
    """Canvas's id of the assignment, when known: the Canvas CSV names its column "Title (id)"
    so that an import fills that column instead of making a new one."""


class Extension(Base):
    __tablename__ = "extensions"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    late_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Blob(Base):
    """Content-addressed bytes (hand-ins, golden-set archives)."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GoldenSet(Base):
    __tablename__ = "golden_sets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"),
                                               index=True)
    status: Mapped[str] = mapped_column(String(20), default=GoldenStatus.VERIFYING)
    """A GoldenStatus."""
    version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    numpy_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    archive_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"), nullable=True)
    canary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    canary_passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    activated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """The worker making a set the service started for itself (worker.golden_jobs)."""
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """Renewed while its maker lives; once past, another worker takes over."""


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key", name="uq_submission_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(255), default="handin.tar")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    late_penalty: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(20), default=Status.QUEUED, index=True)
    queue: Mapped[str] = mapped_column(String(20), default=QueueKind.LIVE)
    """A QueueKind: which queue the current attempt was sent to."""
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    """Number of the current attempt; a message for an older attempt is stale and dropped."""
    infra_failures: Mapped[int] = mapped_column(Integer, default=0)
    counts_toward_limit: Mapped[bool] = mapped_column(Boolean, default=True)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    """When the current attempt's message was sent (or is due, for a delayed retry)."""
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    regrade_id: Mapped[int | None] = mapped_column(ForeignKey("regrades.id"), nullable=True)
    current_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("grading_runs.id", use_alter=True, name="fk_submission_current_run"),
        nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    """Score of the current run, before any late penalty."""
    error: Mapped[str] = mapped_column(Text, default="")
    """Why the last attempt failed (ours): staff only."""
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When the current attempt was claimed (the live line's elapsed time)."""
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """While running: {"done": tests finished, "total": tests, "test": the one running}."""
    idempotency_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """The upload's Idempotency-Key: a retry with the same key gets this submission back."""
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    assignment: Mapped[Assignment] = relationship()


class GradingRun(Base):
    __tablename__ = "grading_runs"
    __table_args__ = (UniqueConstraint("submission_id", "attempt", name="uq_run_attempt"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"),
                                               index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20), default=RunReason.SUBMIT)
    regrade_id: Mapped[int | None] = mapped_column(ForeignKey("regrades.id"), nullable=True)
    outcome: Mapped[str] = mapped_column(String(30))
    """A RunOutcome."""
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    golden_version: Mapped[str] = mapped_column(String(64), default="")
    golden_set_id: Mapped[int | None] = mapped_column(
        ForeignKey("golden_sets.id", name="fk_run_golden_set"), nullable=True)
    """The golden set this run was graded with (its training run uses the same)."""
    grader_version: Mapped[str] = mapped_column(String(40), default="")
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    artifacts: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    """Files made for people (the training plots): name → sha256 of a blob."""
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """store.summary.run_summary of the report: what class-wide statistics read."""
    training: Mapped[str | None] = mapped_column(String(20), nullable=True)
    """A TrainingStatus: the training run (evidence for the manual item), done after the automatic
    tests on the bulk queue; None when the assignment has none."""
    training_tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """How many times the reaper re-sent the training run (its message lost or its worker
    crashed): capped by the retry policy, then the training run is failed."""
    training_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When the reaper last re-sent it (database time); None: only sent once, when graded."""
    error: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ManualGrade(Base):
    """A TA's points and comment for one manual rubric item (e.g. the training statistics) of a
    student's assignment: one grade per (student, assignment, item), counted with whichever
    submission counts; `submission_id` records the submission it was given on."""

    __tablename__ = "manual_grades"
    __table_args__ = (UniqueConstraint("user_id", "assignment_id", "item_id",
                                       name="uq_manual_student_item"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"),
                                               index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"),
                                               index=True)
    item_id: Mapped[str] = mapped_column(String(50))
    points: Mapped[float] = mapped_column(Float)
    adjustment: Mapped[float] = mapped_column(Float, default=0.0)
    """The TA's points beside the applied rubric items (models_rubric.py)."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    """Moves on with every change of the points, so two TAs never overwrite each other."""
    comment: Mapped[str] = mapped_column(Text, default="")
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    graded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    graded_by: Mapped[User | None] = relationship(foreign_keys=[graded_by_id])


class Regrade(Base):
    __tablename__ = "regrades"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    scope: Mapped[str] = mapped_column(String(20))
    """one, latest (each student's latest) or all."""
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegradeItem(Base):
    __tablename__ = "regrade_items"
    __table_args__ = (UniqueConstraint("regrade_id", "submission_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    regrade_id: Mapped[int] = mapped_column(ForeignKey("regrades.id", ondelete="CASCADE"),
                                            index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=ItemStatus.PENDING)
    """An ItemStatus."""
    before_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    before_run_id: Mapped[int | None] = mapped_column(ForeignKey("grading_runs.id"), nullable=True)
    after_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    after_run_id: Mapped[int | None] = mapped_column(ForeignKey("grading_runs.id"), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
