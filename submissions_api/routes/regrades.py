"""Regrades on the low-priority queue, with progress and a before/after diff."""

from __future__ import annotations

from fastapi import APIRouter

from submissions_api.deps import CurrentUser, DispatcherDep, ReleasingRoute, SessionDep
from submissions_api.routes.params import Id
from submissions_api.schemas import RegradeIn, RegradeOut
from submissions_api.services import regrades as service

router = APIRouter(route_class=ReleasingRoute, tags=["regrades"])


@router.post("/submissions/{submission_id}/regrade", response_model=RegradeOut, status_code=202)
def regrade_one(submission_id: Id, user: CurrentUser, session: SessionDep,
                dispatcher: DispatcherDep) -> RegradeOut:
    return service.regrade_one(session, dispatcher, user, submission_id)


@router.post("/assignments/{slug}/regrade", response_model=RegradeOut, status_code=202)
def regrade_assignment(slug: str, body: RegradeIn, user: CurrentUser, session: SessionDep,
                       dispatcher: DispatcherDep) -> RegradeOut:
    """Regrade each student's latest submission (latest_only) or every submission."""
    return service.regrade_assignment(session, dispatcher, user, slug,
                                      latest_only=body.latest_only)


@router.get("/regrades/{regrade_id}", response_model=RegradeOut)
def get_regrade(regrade_id: Id, user: CurrentUser, session: SessionDep) -> RegradeOut:
    return service.get_regrade(session, user, regrade_id)
