"""Manual grading: the points and comment a TA gives a manual rubric item (e.g. the training
statistics), and the comments TAs save for reuse on an item."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from submissions_api.store.models import Base, User, UTCDateTime, utcnow


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
