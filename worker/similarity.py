"""The incremental similarity job (bulk queue): one new hand-in against its assignment's others.

When a submission is graded it becomes its student's entry (replacing the student's earlier one:
the latest graded submission of each student is compared; with MLPGRADE_SIMILARITY_SCOPE=every
all of them are kept, never paired with each other), is fingerprinted, and is scored
against every other entry of the assignment (this semester's and imported archives) with the
starter and any registered base code ignored. Only the new entry's pairs are computed; the
others' stay as stored. Prepared fingerprints are cached per process, so a job in a worker that
has run one before reads and parses only what is new.
"""

from __future__ import annotations

import logging
from functools import cache

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grader.intake import list_sources
from grader.similarity import HandinPrint, Index, fingerprint
from grader.similarity.compare import Prepared
from grader.similarity.isolated import fingerprint_handin
from submissions_api.settings import Settings
from submissions_api.store import crud, rubrics
from submissions_api.store.crud import similarity as sim
from submissions_api.store.models_grading import Status
from submissions_api.store.models_similarity import EntrySource, SimilarityEntry
from worker.context import WorkerContext

log = logging.getLogger(__name__)
_CACHE: dict[tuple[str, int, frozenset[int]], Prepared] = {}
_CACHE_MAX = 20_000


@cache
def starter_print(slug: str) -> HandinPrint:
    """The fingerprints of the assignment's starter code (always base code)."""
    assignment = rubrics.assignment(slug)
    folder = assignment.folder / "starter"
    sources = {str(p.relative_to(folder)): p.read_text(errors="replace")
               for p in sorted(folder.rglob("*.py"))}
    return fingerprint(sources)


def index(ctx: WorkerContext, *, kind: str, ident: int) -> str:
    """Index a graded submission (kind "submission") or an imported entry ("entry").

    The entry is committed before its pairs are computed: of two jobs running at once, at least
    the later one then sees the other's entry; if both do, the second to store the shared pair
    meets the unique constraint and computes its pairs again (finding the pair stored)."""
    with ctx.sessions() as session:
        entry = (_submission_entry(session, ident, ctx.settings) if kind == "submission"
                 else sim.get_entry(session, entry_id=ident))
        if entry is None:
            return "skipped"
        entry_id = entry.id
        session.commit()
    for attempt in range(3):
        try:
            with ctx.sessions() as session:
                entry = sim.get_entry(session, entry_id=entry_id)
                if entry is None:  # replaced by the student's newer submission meanwhile
                    return "skipped"
                count = compare_entry(session, entry)
                session.commit()
            break
        except IntegrityError:
            if attempt == 2:
                raise
    log.info("similarity: %s %s compared with %s hand-ins", kind, ident, count)
    return "compared"


def _submission_entry(session: Session, submission_id: int, settings: Settings
                      ) -> SimilarityEntry | None:
    every = settings.similarity_scope == "every"
    sub = crud.get_submission(session, submission_id=submission_id)
    if sub is None or sub.status != Status.GRADED:
        return None
    existing = sim.entry_of_submission(session, submission_id=sub.id)
    if existing is not None:
        return existing
    others = [e for e in sim.list_entries(session, assignment_id=sub.assignment_id, base=False)
              if e.user_id == sub.user_id and e.source == EntrySource.SUBMISSION]
    if not every and any((e.submission_id or 0) > sub.id for e in others):
        return None  # a later submission of this student is indexed already
    layout = rubrics.assignment(sub.assignment.slug).handin
    # read as grading read it (the same upload limit): the files graded are the files compared
    sources = list_sources(crud.get_blob(session, sha256=sub.blob_sha256) or b"", layout=layout,
                           max_bytes=settings.upload_max_bytes)
    prints = fingerprint_handin(sources)
    if not every:
        sim.drop_student_entries(session, assignment_id=sub.assignment_id, user_id=sub.user_id)
    return sim.add_entry(session, assignment_id=sub.assignment_id,
                         source=EntrySource.SUBMISSION, student=sub.user.login,
                         prints=prints.to_dict(), submission_id=sub.id, user_id=sub.user_id)


def _index_for(session: Session, entry: SimilarityEntry) -> Index:
    assignment = crud.get_assignment_by_id(session, assignment_id=entry.assignment_id)
    bases = [starter_print(assignment.slug)] + [
        HandinPrint.from_dict(b.prints)
        for b in sim.list_entries(session, assignment_id=entry.assignment_id, base=True)]
    return Index(bases)


def compare_entry(session: Session, entry: SimilarityEntry) -> int:
    """Score entry against every other non-base entry of its assignment; store its pairs."""
    if entry.source == EntrySource.BASE:
        return 0
    idx = _index_for(session, entry)
    others = [e for e in sim.list_entries(session, assignment_id=entry.assignment_id, base=False,
                                          light=True) if e.id != entry.id]
    if entry.source == EntrySource.ARCHIVE:  # earlier semesters against this one, not each other
        others = [e for e in others if e.source != EntrySource.ARCHIVE]
    if entry.user_id is not None:  # a student's own submissions are not copies
        others = [e for e in others if e.user_id != entry.user_id]
    for other in others:
        idx.hold(str(other.id), _prepared(idx, other, str(session.get_bind().url)))
    results = idx.add(str(entry.id), HandinPrint.from_dict(entry.prints))
    sim.replace_pairs(session, assignment_id=entry.assignment_id, entry_id=entry.id, pairs=[
        (int(r.a), r.similarity, [m.to_dict() for m in r.matches])
        for r in results if r.similarity > 0])  # pairs that share nothing are not stored
    return len(others)


def _prepared(idx: Index, entry: SimilarityEntry, database: str) -> Prepared:
    key = (database, entry.id, idx.ignored)  # entry ids repeat across databases (tests)
    found = _CACHE.get(key)
    if found is None:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        found = _CACHE[key] = idx.prepare(HandinPrint.from_dict(entry.prints))
    return found
