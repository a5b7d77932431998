"""The grader's rubrics as the service and its workers read them, and the database's assignment
rows refreshed from them (the one place in the service that reads rubrics: crud takes plain
rows). The grader's settings are read once per process, here; each rubric once per process."""

from __future__ import annotations

from functools import cache

from sqlalchemy.orm import Session

from grader import rubric
from grader.settings import GraderSettings, load_settings
from submissions_api.store import crud
from submissions_api.store.models import Assignment


@cache
def grader_settings() -> GraderSettings:
    """The grader's settings of this process (MLPGRADE_*, grader/settings.py), read once."""
    return load_settings()


@cache
def assignment(slug: str) -> rubric.Assignment:
    """An assignment's rubric, from the grader's folders and MLPGRADE_ASSIGNMENTS's; GraderError
    for an unknown slug."""
    return rubric.load_assignment(slug, grader_settings().assignment_roots)


def slugs() -> list[str]:
    """Every assignment the grader knows."""
    return rubric.list_assignments(grader_settings().assignment_roots)


def sync_rubrics(session: Session) -> list[Assignment]:
    """Create or refresh a row for every assignment the grader knows (rubric as data); its
    `rubric_version` is the rubric's own content hash (`Assignment.version`), so an edited
    rubric shows as a new version while the grader's package version stays the same."""
    rubrics = []
    for slug in slugs():
        a = assignment(slug)
        rubrics.append(crud.RubricRow(slug=slug, title=a.title, max_score=a.max_score,
                                      rubric_version=a.version))
    return crud.sync_assignments(session, rubrics=rubrics)
