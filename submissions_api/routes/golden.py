"""Golden sets: upload or regenerate, see the canary, activate (refused while it fails)."""

from __future__ import annotations

from fastapi import APIRouter, File, HTTPException, Request, UploadFile, status

from grader.golden.archive import GoldenArchiveError, inspect_golden
from submissions_api.deps import SessionDep
from submissions_api.routes.common import assignment_or_404
from submissions_api.routes.params import Id
from submissions_api.schemas import GoldenSetOut
from submissions_api.security import CurrentUser, not_found, require_role
from submissions_api.store import crud, lifecycle
from submissions_api.store.models import GoldenSet, Role

router = APIRouter(tags=["golden sets"])


def golden_out(session, golden: GoldenSet) -> GoldenSetOut:  # noqa: ANN001
    out = GoldenSetOut.model_validate(golden)
    assignment = crud.get_assignment_by_id(session, assignment_id=golden.assignment_id)
    out.active = assignment.active_golden_id == golden.id
    return out


@router.get("/assignments/{slug}/golden-sets", response_model=list[GoldenSetOut])
def list_golden_sets(slug: str, user: CurrentUser, session: SessionDep) -> list[GoldenSetOut]:
    assignment = assignment_or_404(session, slug)
    require_role(user, Role.TA)
    return [golden_out(session, g) for g in crud.list_golden_sets(session, assignment=assignment)]


@router.post("/assignments/{slug}/golden-sets", response_model=GoldenSetOut, status_code=202)
def upload_golden_set(slug: str, request: Request, user: CurrentUser, session: SessionDep,
                      archive: UploadFile = File(description="tar(.gz) of manifest.json + "
                                                             "outputs.npz")) -> GoldenSetOut:
    """Store an uploaded golden set and run its canary on a worker."""
    assignment = assignment_or_404(session, slug)
    require_role(user, Role.INSTRUCTOR)
    data = archive.file.read()
    try:
        manifest = inspect_golden(data, assignment.slug)
    except GoldenArchiveError as exc:
        raise HTTPException(422, str(exc)) from exc
    sha = crud.put_blob(session, data=data)
    golden = crud.create_golden_set(session, assignment=assignment, created_by=user,
                                    status="verifying", values={
                                        "version": manifest["version"],
                                        "sha256": manifest["sha256"],
                                        "numpy_version": manifest.get("numpy"),
                                        "manifest": manifest, "archive_sha256": sha})
    session.commit()
    request.app.state.dispatcher.send_golden(golden.id, "verify")
    return golden_out(session, golden)


@router.post("/assignments/{slug}/golden-sets/regenerate", response_model=GoldenSetOut,
             status_code=202)
def regenerate_golden_set(slug: str, request: Request, user: CurrentUser,
                          session: SessionDep) -> GoldenSetOut:
    """Make a new golden set from our reference on a worker, then run its canary."""
    assignment = assignment_or_404(session, slug)
    require_role(user, Role.INSTRUCTOR)
    golden = crud.create_golden_set(session, assignment=assignment, created_by=user,
                                    status="generating")
    session.commit()
    request.app.state.dispatcher.send_golden(golden.id, "generate")
    return golden_out(session, golden)


@router.get("/golden-sets/{golden_id}", response_model=GoldenSetOut)
def get_golden_set(golden_id: Id, user: CurrentUser, session: SessionDep) -> GoldenSetOut:
    golden = crud.get_golden_set(session, golden_id=golden_id)
    if golden is None:
        raise not_found("golden set")
    require_role(user, Role.TA)
    return golden_out(session, golden)


@router.post("/golden-sets/{golden_id}/activate", response_model=GoldenSetOut)
def activate_golden_set(golden_id: Id, user: CurrentUser, session: SessionDep) -> GoldenSetOut:
    """Grade new submissions with this set. Refused unless its canary passed."""
    golden = crud.get_golden_set(session, golden_id=golden_id)
    if golden is None:
        raise not_found("golden set")
    require_role(user, Role.INSTRUCTOR)
    if golden.status != "ready" or golden.canary_passed is not True:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"golden set {golden.id} is {golden.status}: its canary has not "
                            "passed, so it cannot be activated")
    assignment = crud.get_assignment_by_id(session, assignment_id=golden.assignment_id)
    lifecycle.activate_golden_set(session, assignment=assignment, golden=golden, by=user)
    session.commit()
    return golden_out(session, golden)
