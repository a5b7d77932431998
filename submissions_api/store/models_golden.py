"""Golden sets: the reference's outputs an assignment's hand-ins are compared with, made,
verified by the canary and activated as store/lifecycle.py's golden-set functions say."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from submissions_api.store.models import Base, UTCDateTime, utcnow


class GoldenStatus(enum.StrEnum):
    """generating → verifying → ready | canary_failed; error from either of the first two. Being
    the active set is not a status: it is `Assignment.active_golden_id` (only a ready set)."""

    GENERATING = "generating"
    VERIFYING = "verifying"
    READY = "ready"
    CANARY_FAILED = "canary_failed"
    ERROR = "error"


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
