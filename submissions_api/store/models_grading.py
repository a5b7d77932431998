"""A submission and its grading: the attempts' state, each finished attempt's `GradingRun`
(unique on submission and attempt, so regrades keep their history and can be diffed), and
regrades. Every state change is a function of store/lifecycle.py."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from submissions_api.store.models import Assignment, Base, User, UTCDateTime, utcnow


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


class ItemStatus(enum.StrEnum):
    """One submission of a regrade: pending → done | failed, or skipped at once."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


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
    rubric_version: Mapped[str] = mapped_column(String(40), default="", server_default="")
    """The rubric's own content hash it was graded under (`grader.rubric.Assignment.version`);
    "" for a run we failed, or one recorded before runs kept it."""
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
