"""Worker hosts as they report themselves: a host that fails jobs for reasons of its own (a full
disk, a broken runtime or sandbox) says so here until its self-check passes (worker/health.py);
the health endpoint, /metrics and the queue page read it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from submissions_api.store.models import Base, UTCDateTime, utcnow


class WorkerHost(Base):
    """One worker host (its host name and data folder): sick or healthy, and why."""

    __tablename__ = "worker_hosts"
    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    sick: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    """What its failed self-check said (staff read it on the queue page)."""
    since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When it fell sick (None while healthy)."""
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
