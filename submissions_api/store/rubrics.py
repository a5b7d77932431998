"""The database's assignment rows, refreshed from the grader's rubrics (the one place in the store
that reads the grader: crud takes plain rows)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from grader import __version__
from grader.rubric import list_assignments, load_assignment
from submissions_api.store import crud
from submissions_api.store.models import Assignment


def sync_rubrics(session: Session) -> list[Assignment]:
    """Create or refresh a row for every assignment the grader knows (rubric as data)."""
    rubrics = []
    for slug in list_assignments():
        a = load_assignment(slug)
        rubrics.append(crud.RubricRow(slug=slug, title=a.title, max_score=a.max_score,
                                      rubric_version=__version__))
    return crud.sync_assignments(session, rubrics=rubrics)
