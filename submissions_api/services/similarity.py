"""Similarity detection for staff: ranked pairs, a pair side by side, reviews, archive import.

Staff only (TA and up): students never see a pair, a score or a review. The scores are computed
by the worker's incremental job (worker/similarity.py) when a submission is graded or an archive
is imported; this module reads them and records reviews.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from grader.similarity.groups import connected_groups
from grader.similarity.handins import read_archive, read_sources
from grader.similarity.isolated import fingerprint_handin
from submissions_api.errors import NotFound, Refused
from submissions_api.jobs import Dispatcher
from submissions_api.security import require_role
from submissions_api.services import fetch
from submissions_api.services.sources import read_sources as blob_sources
from submissions_api.settings import Settings
from submissions_api.store import crud, rubrics
from submissions_api.store.crud import similarity as sim
from submissions_api.store.db import session_factory
from submissions_api.store.models import Role, User
from submissions_api.store.models_similarity import (
    EntrySource,
    Review,
    SimilarityEntry,
    SimilarityPair,
)

DEFAULT_THRESHOLD = 0.5
"""The list's default filter: in the measured corpus every planted copy scored above it and
no pair of independent hand-ins did (docs/similarity.md)."""


@dataclass(frozen=True)
class PairRow:
    id: int
    similarity: float
    a: str
    b: str
    a_semester: str
    b_semester: str
    files: tuple[str, ...]
    review: str
    note: str


def _label(entry: SimilarityEntry) -> str:
    return entry.student


def pair_rows(session: Session, user: User, slug: str, *, threshold: float,
              review: str | None = None) -> list[PairRow]:
    """The assignment's pairs from `threshold` up, highest first."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.TA)
    rows = []
    for p in sim.list_pairs(session, assignment_id=assignment.id, threshold=threshold,
                            review=review or None):
        files = sorted({m["a_file"] for m in p.matches} | {m["b_file"] for m in p.matches})
        rows.append(PairRow(id=p.id, similarity=p.similarity, a=_label(p.a), b=_label(p.b),
                            a_semester=p.a.semester or "this semester",
                            b_semester=p.b.semester or "this semester", files=tuple(files),
                            review=p.review, note=p.note))
    return rows


@dataclass(frozen=True)
class TokenOnly:
    """A hand-in some of whose files were compared by their raw tokens only, and why."""

    label: str
    semester: str
    submission_id: int | None
    files: tuple[tuple[str, str], ...]
    """(path, why); path "*" is the whole hand-in."""


def token_only(session: Session, user: User, slug: str) -> list[TokenOnly]:
    """The assignment's hand-ins whose fingerprinting fell back to tokens for some file (a file
    too long, too deep or too slow to parse): staff see which and why, for that hand-in only."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.TA)
    return [_token_only(e) for e in sim.entries_with_problems(session,
                                                               assignment_id=assignment.id)]


def _token_only(entry: SimilarityEntry) -> TokenOnly:
    problems = (entry.prints or {}).get("problems") or {}
    return TokenOnly(label=entry.student, semester=entry.semester or "this semester",
                     submission_id=entry.submission_id,
                     files=tuple(sorted((str(p), str(w)) for p, w in problems.items())))


def _pair(session: Session, user: User, pair_id: int) -> SimilarityPair:
    require_role(user, Role.TA)
    pair = sim.get_pair(session, pair_id=pair_id)
    if pair is None:
        raise NotFound(f"no similarity pair {pair_id}")
    return pair


def entry_sources(session: Session, entry: SimilarityEntry) -> dict[str, str]:
    """An entry's Python files: an archive's as imported, a submission's from its blob."""
    if entry.sources is not None:
        return dict(entry.sources)
    sub = crud.get_submission(session, submission_id=entry.submission_id or 0)
    if sub is None:
        return {}
    data = crud.get_blob(session, sha256=sub.blob_sha256) or b""
    return dict(blob_sources(data, rubrics.assignment(sub.assignment.slug).handin))


@dataclass(frozen=True)
class Side:
    label: str
    semester: str
    submission_id: int | None
    files: list[tuple[str, list[tuple[int, str, int | None]]]]
    """(path, [(line number, text, index of the match it is in or None)])."""
    token_only: tuple[tuple[str, str], ...] = ()
    """(path, why) of the files compared by their raw tokens only."""


def _side(session: Session, entry: SimilarityEntry, matches: list[dict], which: str) -> Side:
    marks: dict[tuple[str, int], int] = {}
    for i, m in enumerate(matches):
        first, last = m[f"{which}_lines"]
        for line in range(first, last + 1):
            marks.setdefault((m[f"{which}_file"], line), i)
    shown = {m[f"{which}_file"] for m in matches}
    files = []
    for path, text in sorted(entry_sources(session, entry).items()):
        if matches and path not in shown:
            continue
        files.append((path, [(n, line, marks.get((path, n)))
                             for n, line in enumerate(text.splitlines(), 1)]))
    return Side(label=entry.student, semester=entry.semester or "this semester",
                submission_id=entry.submission_id, files=files,
                token_only=_token_only(entry).files)


def pair_view(session: Session, user: User, pair_id: int) -> tuple[SimilarityPair, Side, Side]:
    """A pair and both hand-ins' files that hold a match, each line marked with its match."""
    pair = _pair(session, user, pair_id)
    return pair, _side(session, pair.a, pair.matches, "a"), _side(session, pair.b, pair.matches,
                                                                   "b")


def review_pair(session: Session, user: User, pair_id: int, review: str, note: str
                ) -> SimilarityPair:
    """Mark a pair cleared or suspected (or back to unreviewed), with a note."""
    pair = _pair(session, user, pair_id)
    if review not in set(Review):
        raise Refused(f"review must be one of {', '.join(Review)}, not {review!r}", status=400)
    sim.set_review(session, pair=pair, review=review, note=note[:5000], reviewer_id=user.id)
    session.commit()
    return pair


def import_archive(settings: Settings, slug: str, semester: str, path: Path, *,
                   base: bool = False) -> int:
    """Import an archive of earlier hand-ins (a folder, tar or zip, one hand-in per student),
    or with `base` one hand-in of base code; queue their comparison. The number imported."""
    layout = rubrics.assignment(slug).handin
    handins = ({path.name: read_sources(path, layout)} if base
               else read_archive(path, layout))
    handins = {name: files for name, files in handins.items() if files}
    if not handins:
        raise LookupError(f"{path}: no hand-in with Python files found")
    with session_factory(settings.database_url)() as session:
        assignment = crud.get_assignment(session, slug=slug)
        if assignment is None:
            raise LookupError(f"no assignment {slug!r} in the service")
        ids = [sim.add_entry(session, assignment_id=assignment.id,
                             source=EntrySource.BASE if base else EntrySource.ARCHIVE,
                             student=name, semester=semester,
                             prints=fingerprint_handin(files).to_dict(), sources=files).id
               for name, files in handins.items()]
        if base:  # what counts changed: every entry's pairs are computed again
            ids = [e.id for e in sim.list_entries(session, assignment_id=assignment.id,
                                                  base=False, light=True)]
        session.commit()
    dispatcher = Dispatcher(settings)
    for entry_id in ids:
        dispatcher.send_similarity("entry", entry_id)
    return len(handins)


@dataclass(frozen=True)
class Member:
    entry_id: int
    label: str
    semester: str
    submission_id: int | None


@dataclass(frozen=True)
class GroupRow:
    """Hand-ins that are copies of each other (grader.similarity.groups), as one row."""

    id: int
    """Its lowest entry id: the group's link."""
    members: tuple[Member, ...]
    top: float
    low: float
    pairs: int


def group_rows(session: Session, user: User, slug: str, *, threshold: float,
               review: str | None = None) -> list[GroupRow]:
    """The assignment's similarity groups at `threshold`, the largest first."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.TA)
    links = sim.pair_links(session, assignment_id=assignment.id, threshold=threshold,
                           review=review or None)
    entries = {e.id: e for e in sim.list_entries(session, assignment_id=assignment.id,
                                                 base=False, light=True)}
    rows = []
    for group in connected_groups(links, threshold):
        inside = set(group)
        scores = [s for a, b, s in links if a in inside and b in inside]
        members = tuple(Member(i, entries[i].student, entries[i].semester or "this semester",
                               entries[i].submission_id) for i in sorted(group))
        rows.append(GroupRow(id=min(group), members=members, top=max(scores), low=min(scores),
                             pairs=len(scores)))
    return rows


@dataclass(frozen=True)
class SharedSource:
    """One member's files (the one linked to the most others), each line with how many other
    members' hand-ins hold it: the copied source, shown once for the group."""

    member: Member
    files: list[tuple[str, list[tuple[int, str, int]]]]


def group_view(session: Session, user: User, entry_id: int, threshold: float
               ) -> tuple[GroupRow, SharedSource, list[SimilarityPair]]:
    """The group holding `entry_id` at `threshold`: its row, its shared source and its pairs."""
    require_role(user, Role.TA)
    entry = sim.get_entry(session, entry_id=entry_id)
    if entry is None:
        raise NotFound(f"similarity entry {entry_id}")
    slug = fetch.assignment_by_id(session, entry.assignment_id).slug
    row = next((g for g in group_rows(session, user, slug, threshold=threshold)
                if entry_id in {m.entry_id for m in g.members}), None)
    if row is None:
        raise NotFound(f"group of similarity entry {entry_id} at {threshold}")
    pairs = sim.pairs_among(session, entry_ids=[m.entry_id for m in row.members],
                            threshold=threshold)
    degree: dict[int, float] = {}
    for p in pairs:
        for side in (p.a_id, p.b_id):
            degree[side] = degree.get(side, 0.0) + 1 + p.similarity / 2
    hub = max(row.members, key=lambda m: (degree.get(m.entry_id, 0.0), -m.entry_id))
    return row, _shared_source(session, hub, pairs), pairs


def _shared_source(session: Session, hub: Member, pairs: list[SimilarityPair]) -> SharedSource:
    sharing: dict[tuple[str, int], set[int]] = {}
    for p in pairs:
        if hub.entry_id not in (p.a_id, p.b_id):
            continue
        side, other = ("a", p.b_id) if p.a_id == hub.entry_id else ("b", p.a_id)
        for m in p.matches:
            first, last = m[f"{side}_lines"]
            for line in range(first, last + 1):
                sharing.setdefault((m[f"{side}_file"], line), set()).add(other)
    shown = {path for path, _ in sharing}
    entry = sim.get_entry(session, entry_id=hub.entry_id)
    files = [(path, [(n, line, len(sharing.get((path, n), ())))
                     for n, line in enumerate(text.splitlines(), 1)])
             for path, text in sorted(entry_sources(session, entry).items()) if path in shown]
    return SharedSource(member=hub, files=files)
