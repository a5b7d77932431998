"""Golden sets: upload or regenerate, see the canary, activate (refused while it fails)."""

from __future__ import annotations

from fastapi import APIRouter, File, UploadFile

from submissions_api.deps import CurrentUser, DispatcherDep, ReleasingRoute, SessionDep
from submissions_api.routes.params import Id
from submissions_api.schemas import GoldenSetOut
from submissions_api.services import golden as service

router = APIRouter(route_class=ReleasingRoute, tags=["golden sets"])


@router.get("/assignments/{slug}/golden-sets", response_model=list[GoldenSetOut])
def list_golden_sets(slug: str, user: CurrentUser, session: SessionDep) -> list[GoldenSetOut]:
    return service.list_golden_sets(session, user, slug)


@router.post("/assignments/{slug}/golden-sets", response_model=GoldenSetOut, status_code=202)
def upload_golden_set(slug: str, user: CurrentUser, session: SessionDep,
                      dispatcher: DispatcherDep,
                      archive: UploadFile = File(description="tar(.gz) of manifest.json + "
                                                             "outputs.npz")) -> GoldenSetOut:
    """Store an uploaded golden set and run its canary on a worker."""
    return service.upload_golden_set(session, dispatcher, user, slug, archive.file.read())


@router.post("/assignments/{slug}/golden-sets/regenerate", response_model=GoldenSetOut,
             status_code=202)
def regenerate_golden_set(slug: str, user: CurrentUser, session: SessionDep,
                          dispatcher: DispatcherDep) -> GoldenSetOut:
    """Make a new golden set from our reference on a worker, then run its canary."""
    return service.regenerate_golden_set(session, dispatcher, user, slug)


@router.get("/golden-sets/{golden_id}", response_model=GoldenSetOut)
def get_golden_set(golden_id: Id, user: CurrentUser, session: SessionDep) -> GoldenSetOut:
    return service.get_golden_set(session, user, golden_id)


@router.post("/golden-sets/{golden_id}/activate", response_model=GoldenSetOut)
def activate_golden_set(golden_id: Id, user: CurrentUser, session: SessionDep) -> GoldenSetOut:
    """Grade new submissions with this set. Refused unless its canary passed."""
    golden, _ = service.activate_golden_set(session, user, golden_id)
    return golden
