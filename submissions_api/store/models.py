"""The service's tables (SQLAlchemy 2), one module per concept; Alembic migrations in
`migrations/` create them. This one holds the base every table derives from, and the course and
its people: users and their API tokens, assignments and their extensions, and the blobs that
hand-ins and golden archives are stored as. The others: models_grading (submissions, grading runs,
regrades), models_golden (golden sets), models_manual (TAs' manual points and saved comments),
models_lms, models_similarity and models_hosts. `submissions_api.store` imports every one, so
each table is in `Base.metadata` whenever the store is used.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
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
