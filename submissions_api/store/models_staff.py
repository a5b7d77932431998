"""Tables of the TAs' workflow (beside models.py, which is near its size limit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from submissions_api.store.models import Base, UTCDateTime, utcnow


class SavedComment(Base):
    """A comment a TA saved for reuse on one manual item of an assignment."""

    __tablename__ = "saved_comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"),
                                               index=True)
    item_id: Mapped[str] = mapped_column(String(50))
    text: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
