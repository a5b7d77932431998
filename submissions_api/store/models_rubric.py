"""Tables of rubric grading: the reusable rubric items a TA applies to a manual item, the
annotations a TA leaves on a hand-in's lines, and the students' regrade requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from submissions_api.store.models import Base, User, UTCDateTime, utcnow
from submissions_api.store.models_grading import Submission
from submissions_api.store.models_manual import ManualGrade


class RubricItem(Base):
    """Points (positive or negative), a description and a shortcut key for one manual item of an
    assignment. A student's points for the manual item are the applied items' points plus the
    TA's adjustment, within 0 and the item's maximum; `version` moves on with every edit, so a
    save made against an older version is refused and told what changed."""

    __tablename__ = "rubric_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"),
                                               index=True)
    item_id: Mapped[str] = mapped_column(String(50))
    """The manual item (of the rubric file) it belongs to."""
    points: Mapped[float] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(1), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by: Mapped[User | None] = relationship()


class RubricApplication(Base):
    """A rubric item applied to a student's manual grade."""

    __tablename__ = "rubric_applications"
    __table_args__ = (UniqueConstraint("grade_id", "rubric_item_id", name="uq_applied_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grade_id: Mapped[int] = mapped_column(ForeignKey("manual_grades.id", ondelete="CASCADE"),
                                          index=True)
    rubric_item_id: Mapped[int] = mapped_column(ForeignKey("rubric_items.id",
                                                           ondelete="CASCADE"), index=True)
    grade: Mapped[ManualGrade] = relationship()
    rubric_item: Mapped[RubricItem] = relationship()


class Annotation(Base):
    """A TA's comment on lines of one file of a submission; `quote` keeps those lines as they
    were, so lines the file no longer has are still shown."""

    __tablename__ = "annotations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"),
                                               index=True)
    path: Mapped[str] = mapped_column(String(500))
    first_line: Mapped[int] = mapped_column(Integer)
    last_line: Mapped[int] = mapped_column(Integer)
    quote: Mapped[str] = mapped_column(Text, default="")
    comment: Mapped[str] = mapped_column(Text)
    rubric_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("rubric_items.id", ondelete="SET NULL"), nullable=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rubric_item: Mapped[RubricItem | None] = relationship()
    author: Mapped[User | None] = relationship()


class RegradeRequest(Base):
    """A student's request to look again at a manual item (once per item), and the TA's answer."""

    __tablename__ = "regrade_requests"
    __table_args__ = (UniqueConstraint("user_id", "assignment_id", "item_id",
                                       name="uq_request_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"),
                                               index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    points_before: Mapped[float | None] = mapped_column(Float, nullable=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    points_after: Mapped[float | None] = mapped_column(Float, nullable=True)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    submission: Mapped[Submission] = relationship()
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
