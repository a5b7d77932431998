"""Golden sets in the service: upload (inspected here, verified by a worker's canary) or
regenerate from our reference, list, and activate (refused unless the canary passed)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from grader.golden.archive import GoldenArchiveError, inspect_golden
from submissions_api.errors import Conflict, Refused
from submissions_api.jobs import Dispatcher
from submissions_api.schemas import GoldenSetOut
from submissions_api.security import require_role
from submissions_api.services import fetch
from submissions_api.store import crud, golden_lifecycle
from submissions_api.store.models import Assignment, Role, User
from submissions_api.store.models_golden import GoldenSet, GoldenStatus

LIVE = (GoldenStatus.GENERATING, GoldenStatus.VERIFYING)
"""States a worker is still working on (the page refreshes itself while one is shown)."""


def golden_view(golden: GoldenSet, assignment: Assignment) -> GoldenSetOut:
    out = GoldenSetOut.model_validate(golden)
    out.active = assignment.active_golden_id == golden.id
    return out


def _view(session: Session, golden: GoldenSet) -> GoldenSetOut:
    assignment = crud.get_assignment_by_id(session, assignment_id=golden.assignment_id)
    return golden_view(golden, assignment)


def list_golden_sets(session: Session, user: User, slug: str) -> list[GoldenSetOut]:
    """The assignment's golden sets, oldest first (TAs may look)."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.TA)
    sets = crud.list_golden_sets(session, assignment=assignment)
    return [golden_view(g, assignment) for g in sets]


def upload_golden_set(session: Session, dispatcher: Dispatcher, user: User, slug: str,
                      data: bytes) -> GoldenSetOut:
    """Store an uploaded golden-set archive (instructors) and run its canary on a worker; 422
    when it is not a golden set of this assignment."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.INSTRUCTOR)
    try:
        manifest = inspect_golden(data, assignment.slug)
    except GoldenArchiveError as exc:
        raise Refused(str(exc)) from exc
    sha = crud.put_blob(session, data=data)
    golden = crud.create_golden_set(session, assignment=assignment, created_by=user,
                                    status=GoldenStatus.VERIFYING, values={
                                        "version": manifest["version"],
                                        "sha256": manifest["sha256"],
                                        "numpy_version": manifest.get("numpy"),
                                        "manifest": manifest, "archive_sha256": sha})
    session.commit()
    dispatcher.send_golden(golden.id, "verify")
    return golden_view(golden, assignment)


def regenerate_golden_set(session: Session, dispatcher: Dispatcher, user: User, slug: str
                          ) -> GoldenSetOut:
    """Make a new golden set from our reference on a worker, then run its canary (instructors)."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.INSTRUCTOR)
    golden = crud.create_golden_set(session, assignment=assignment, created_by=user,
                                    status=GoldenStatus.GENERATING)
    session.commit()
    dispatcher.send_golden(golden.id, "generate")
    return golden_view(golden, assignment)


def get_golden_set(session: Session, user: User, golden_id: int) -> GoldenSetOut:
    golden = fetch.golden_set(session, golden_id)
    require_role(user, Role.TA)
    return _view(session, golden)


def activate_golden_set(session: Session, user: User, golden_id: int) -> tuple[GoldenSetOut, str]:
    """Grade new submissions with this set (instructors): 409 unless its canary passed. Returns
    the set and its assignment's slug."""
    golden = fetch.golden_set(session, golden_id)
    require_role(user, Role.INSTRUCTOR)
    assignment = crud.get_assignment_by_id(session, assignment_id=golden.assignment_id)
    if not golden_lifecycle.activate_golden_set(session, assignment=assignment, golden=golden,
                                                by=user):
        raise Conflict(f"golden set {golden.id} is {golden.status}: its canary has not passed, "
                       "so it cannot be activated")
    session.commit()
    return golden_view(golden, assignment), assignment.slug


def any_live(sets: Sequence[GoldenSetOut]) -> bool:
    """Whether a worker is still generating or verifying one of these sets."""
    return any(g.status in LIVE for g in sets)


def prepare_missing(session: Session, dispatcher: Dispatcher) -> list[str]:
    """Ask a worker to make the golden set of every assignment that has none active (at
    `serve`'s start): the slugs asked for. The set is made once, whoever asks first."""
    missing = [a for a in crud.list_assignments(session) if a.active_golden_id is None]
    for assignment in missing:
        dispatcher.send_ensure_golden(assignment.id)
    return [a.slug for a in missing]


def preparing(session: Session, assignment: Assignment) -> dict[str, object] | None:
    """The set the service is making for itself while the assignment has none active (status,
    since when), for the staff pages and `serve`'s progress lines; None otherwise."""
    if assignment.active_golden_id is not None:
        return None
    making = [g for g in crud.list_golden_sets(session, assignment=assignment)
              if g.created_by_id is None and g.status in LIVE]
    if not making:
        return {"status": "waiting", "since": None}
    return {"status": making[-1].status, "since": making[-1].created_at}
