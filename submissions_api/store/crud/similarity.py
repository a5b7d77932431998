"""Reads and writes of similarity entries and pairs (see store/models_similarity.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, cast, delete, or_, select
from sqlalchemy.orm import Session, aliased, defer

from submissions_api.store.models_similarity import (
    EntrySource,
    Review,
    SimilarityEntry,
    SimilarityPair,
)


def add_entry(session: Session, *, assignment_id: int, source: str, student: str,
              prints: dict[str, Any], semester: str = "", submission_id: int | None = None,
              user_id: int | None = None, sources: dict[str, str] | None = None
              ) -> SimilarityEntry:
    entry = SimilarityEntry(assignment_id=assignment_id, source=source, student=student,
                            prints=prints, semester=semester, submission_id=submission_id,
                            user_id=user_id, sources=sources)
    session.add(entry)
    session.flush()
    return entry


def get_entry(session: Session, *, entry_id: int) -> SimilarityEntry | None:
    return session.get(SimilarityEntry, entry_id)


def entry_of_submission(session: Session, *, submission_id: int) -> SimilarityEntry | None:
    return session.scalar(select(SimilarityEntry).where(
        SimilarityEntry.submission_id == submission_id))


def entries_with_problems(session: Session, *, assignment_id: int) -> list[SimilarityEntry]:
    """The assignment's entries with a file compared by its tokens only (`problems` in their
    prints: the key is found in the JSON text, where a file name's quotes would be escaped)."""
    return list(session.scalars(select(SimilarityEntry).where(
        SimilarityEntry.assignment_id == assignment_id,
        cast(SimilarityEntry.prints, Text).like('%"problems":%'))
        .options(defer(SimilarityEntry.sources)).order_by(SimilarityEntry.id)))


def drop_student_entries(session: Session, *, assignment_id: int, user_id: int,
                         keep: int | None = None) -> int:
    """Delete a student's submission entries (and so their pairs) other than `keep`."""
    ids = list(session.scalars(select(SimilarityEntry.id).where(
        SimilarityEntry.assignment_id == assignment_id, SimilarityEntry.user_id == user_id,
        SimilarityEntry.source == EntrySource.SUBMISSION, SimilarityEntry.id != (keep or -1))))
    if ids:
        session.execute(delete(SimilarityPair).where(or_(SimilarityPair.a_id.in_(ids),
                                                         SimilarityPair.b_id.in_(ids))))
        session.execute(delete(SimilarityEntry).where(SimilarityEntry.id.in_(ids)))
    return len(ids)


def list_entries(session: Session, *, assignment_id: int, base: bool | None = None,
                 light: bool = False) -> list[SimilarityEntry]:
    """The assignment's entries; base=True only base code, False all but base code. `light`
    leaves fingerprints and sources unread until an entry's are used."""
    query = select(SimilarityEntry).where(SimilarityEntry.assignment_id == assignment_id)
    if light:
        query = query.options(defer(SimilarityEntry.prints), defer(SimilarityEntry.sources))
    if base is not None:
        condition = SimilarityEntry.source == EntrySource.BASE
        query = query.where(condition if base else ~condition)
    return list(session.scalars(query.order_by(SimilarityEntry.id)))


def replace_pairs(session: Session, *, assignment_id: int, entry_id: int,
                  pairs: list[tuple[int, float, list[dict]]]) -> None:
    """Store (other entry id, similarity, matches) of entry_id's pairs, keeping the review of a
    pair that was there before. The pair's `a` is the older entry (lower id)."""
    old = {(p.a_id, p.b_id): p for p in session.scalars(select(SimilarityPair).where(
        or_(SimilarityPair.a_id == entry_id, SimilarityPair.b_id == entry_id)))}
    now = datetime.now(UTC)
    for other_id, score, matches in pairs:
        key = (min(other_id, entry_id), max(other_id, entry_id))
        if other_id > entry_id:
            matches = [_flip(m) for m in matches]
        pair = old.pop(key, None)
        if pair is None:
            session.add(SimilarityPair(assignment_id=assignment_id, a_id=key[0], b_id=key[1],
                                       similarity=score, matches=matches, computed_at=now))
        else:
            pair.similarity, pair.matches, pair.computed_at = score, matches, now
    for pair in old.values():
        session.delete(pair)
    session.flush()


def _flip(m: dict) -> dict:
    return {"a_file": m["b_file"], "a_lines": m["b_lines"], "b_file": m["a_file"],
            "b_lines": m["a_lines"]}


def list_pairs(session: Session, *, assignment_id: int, threshold: float = 0.0,
               review: str | None = None, limit: int = 500) -> list[SimilarityPair]:
    """The assignment's pairs from `threshold` up, highest first, with both entries loaded."""
    a, b = aliased(SimilarityEntry), aliased(SimilarityEntry)
    query = (select(SimilarityPair).join(a, SimilarityPair.a_id == a.id)
             .join(b, SimilarityPair.b_id == b.id)
             .where(SimilarityPair.assignment_id == assignment_id,
                    SimilarityPair.similarity >= threshold))
    if review:
        query = query.where(SimilarityPair.review == review)
    query = query.order_by(SimilarityPair.similarity.desc(), SimilarityPair.id).limit(limit)
    return list(session.scalars(query))


def get_pair(session: Session, *, pair_id: int) -> SimilarityPair | None:
    return session.get(SimilarityPair, pair_id)


def set_review(session: Session, *, pair: SimilarityPair, review: str, note: str,
               reviewer_id: int) -> None:
    pair.review, pair.note = review, note
    pair.reviewed_by_id, pair.reviewed_at = reviewer_id, datetime.now(UTC)
    session.flush()


def flagged_students(session: Session, *, assignment_id: int, threshold: float) -> set[str]:
    """Logins of this semester's students in a pair from `threshold` up that no TA cleared."""
    a, b = aliased(SimilarityEntry), aliased(SimilarityEntry)
    rows = session.execute(
        select(a.student, a.source, b.student, b.source)
        .join(SimilarityPair, SimilarityPair.a_id == a.id).join(b, SimilarityPair.b_id == b.id)
        .where(SimilarityPair.assignment_id == assignment_id,
               SimilarityPair.similarity >= threshold,
               SimilarityPair.review != Review.CLEARED)).all()
    return {login for row in rows for login, source in (row[:2], row[2:])
            if source == EntrySource.SUBMISSION}


def pair_links(session: Session, *, assignment_id: int, threshold: float,
               review: str | None = None) -> list[tuple[int, int, float]]:
    """(a id, b id, similarity) of every pair from `threshold` up: the graph of groups."""
    query = select(SimilarityPair.a_id, SimilarityPair.b_id, SimilarityPair.similarity).where(
        SimilarityPair.assignment_id == assignment_id, SimilarityPair.similarity >= threshold)
    if review:
        query = query.where(SimilarityPair.review == review)
    return [(a, b, s) for a, b, s in session.execute(query.order_by(
        SimilarityPair.similarity.desc(), SimilarityPair.id))]


def pairs_among(session: Session, *, entry_ids: list[int], threshold: float
                ) -> list[SimilarityPair]:
    """The pairs from `threshold` up between these entries, highest first."""
    return list(session.scalars(select(SimilarityPair).where(
        SimilarityPair.a_id.in_(entry_ids), SimilarityPair.b_id.in_(entry_ids),
        SimilarityPair.similarity >= threshold).order_by(SimilarityPair.similarity.desc(),
                                                         SimilarityPair.id)))
