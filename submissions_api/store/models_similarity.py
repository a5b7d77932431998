"""Tables of similarity detection: fingerprinted hand-ins (entries) and scored pairs.

An entry is one hand-in of an assignment as the detector sees it: a student's latest graded
submission, a hand-in of an earlier semester that an instructor imported, or base code an
instructor registered (never paired; its fingerprints are ignored). A pair is two entries' score
and matching regions, with a TA's review (cleared or suspected, and a note).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from submissions_api.store.models import Base, UTCDateTime, utcnow


class EntrySource(enum.StrEnum):
    SUBMISSION = "submission"
    ARCHIVE = "archive"
    BASE = "base"


class Review(enum.StrEnum):
    UNREVIEWED = "unreviewed"
    CLEARED = "cleared"
    SUSPECTED = "suspected"


class SimilarityEntry(Base):
    __tablename__ = "similarity_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"),
                                               index=True)
    source: Mapped[str] = mapped_column(String(20))
    """An EntrySource."""
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), nullable=True, unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    student: Mapped[str] = mapped_column(String(200))
    """The student's login (this semester) or name (an archive's hand-in, a base's label)."""
    semester: Mapped[str] = mapped_column(String(50), default="")
    """Empty for this semester's submissions."""
    prints: Mapped[dict[str, Any]] = mapped_column(JSON)
    """grader.similarity.HandinPrint.to_dict()."""
    sources: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """An archive's Python files (path → text), kept to show side by side; None for
    submissions (their blob has them)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SimilarityPair(Base):
    __tablename__ = "similarity_pairs"
    __table_args__ = (UniqueConstraint("a_id", "b_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"),
                                               index=True)
    a_id: Mapped[int] = mapped_column(ForeignKey("similarity_entries.id", ondelete="CASCADE"),
                                      index=True)
    b_id: Mapped[int] = mapped_column(ForeignKey("similarity_entries.id", ondelete="CASCADE"),
                                      index=True)
    similarity: Mapped[float] = mapped_column(Float, index=True)
    matches: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """[{a_file, a_lines, b_file, b_lines}] as grader.similarity.Match.to_dict()."""
    review: Mapped[str] = mapped_column(String(20), default=Review.UNREVIEWED)
    """A Review."""
    note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    a: Mapped[SimilarityEntry] = relationship(foreign_keys=[a_id])
    b: Mapped[SimilarityEntry] = relationship(foreign_keys=[b_id])
