"""Tables of cluster hints: a TA's hint for one failure cluster of an assignment, and which
students it reached.

A failure cluster is the class dashboard's group of students who fail the same tests for the same
cause (services/feedback.py `common_causes`): the cause's kind, its fix-first test and its
location or message pattern. The hint is keyed by those three, so it finds the students who fall
into the cluster later in the semester, and (exported with the assignment) next semester's too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from submissions_api.store.models import Base, UTCDateTime, utcnow


class ClusterHint(Base):
    """A TA-written hint shown to every student whose counted run has the cluster."""

    __tablename__ = "cluster_hints"
    __table_args__ = (UniqueConstraint("assignment_id", "cluster"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"),
                                               index=True)
    cluster: Mapped[str] = mapped_column(String(32))
    """services/feedback.cluster_key of (kind, fix_first, signature)."""
    kind: Mapped[str] = mapped_column(String(20))
    fix_first: Mapped[str] = mapped_column(String(200))
    signature: Mapped[str] = mapped_column(Text)
    """The cause's location (an error's path:line) or its message with numbers blanked."""
    text: Mapped[str] = mapped_column(Text)
    written_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HintReach(Base):
    """A student shown a hint on their result page, once per student."""

    __tablename__ = "hint_reaches"
    __table_args__ = (UniqueConstraint("hint_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hint_id: Mapped[int] = mapped_column(ForeignKey("cluster_hints.id", ondelete="CASCADE"),
                                         index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
