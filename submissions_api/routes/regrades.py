"""Regrades on the low-priority queue, with progress and a before/after diff."""

from __future__ import annotations

from fastapi import APIRouter, Request

from submissions_api.deps import SessionDep
from submissions_api.routes.common import assignment_or_404
from submissions_api.routes.params import Id
from submissions_api.schemas import RegradeIn, RegradeOut
from submissions_api.security import CurrentUser, not_found, require_role
from submissions_api.store import crud, lifecycle
from submissions_api.store.models import Regrade, Role
from submissions_api.views import test_diff

router = APIRouter(tags=["regrades"])


def regrade_out(session, regrade: Regrade) -> RegradeOut:  # noqa: ANN001
    items, counts = [], {"done": 0, "failed": 0, "skipped": 0, "pending": 0}
    changed = 0
    for item, owner in crud.regrade_items(session, regrade=regrade):
        counts[item.status] = counts.get(item.status, 0) + 1
        entry = {"submission_id": item.submission_id, "login": owner.login,
                 "status": item.status, "before": item.before_score, "after": item.after_score,
                 "note": item.note, "tests": []}
        if item.status == "done" and item.before_score != item.after_score:
            changed += 1
            before = crud.get_run(session, run_id=item.before_run_id)
            after = crud.get_run(session, run_id=item.after_run_id)
            entry["tests"] = test_diff(before.report if before else None,
                                       after.report if after else None)
        items.append(entry)
    assignment = crud.get_assignment_by_id(session, assignment_id=regrade.assignment_id)
    return RegradeOut(id=regrade.id, assignment=assignment.slug, scope=regrade.scope,
                      created_at=regrade.created_at, total=len(items), changed=changed,
                      finished=counts["pending"] == 0, items=items, **counts)


def _start(request: Request, session, regrade, to_send) -> RegradeOut:  # noqa: ANN001
    session.commit()
    for submission_id, attempt in to_send:
        request.app.state.dispatcher.send_grade(submission_id, attempt, kind="bulk")
    return regrade_out(session, regrade)


@router.post("/submissions/{submission_id}/regrade", response_model=RegradeOut, status_code=202)
def regrade_one(submission_id: Id, request: Request, user: CurrentUser,
                session: SessionDep) -> RegradeOut:
    sub = crud.get_submission(session, submission_id=submission_id)
    if sub is None:
        raise not_found("submission")
    require_role(user, Role.TA)
    regrade, to_send = lifecycle.create_regrade(session, assignment=sub.assignment, scope="one",
                                           requested_by=user, submissions=[sub])
    return _start(request, session, regrade, to_send)


@router.post("/assignments/{slug}/regrade", response_model=RegradeOut, status_code=202)
def regrade_assignment(slug: str, body: RegradeIn, request: Request, user: CurrentUser,
                       session: SessionDep) -> RegradeOut:
    """Regrade each student's latest submission (latest_only) or every submission."""
    assignment = assignment_or_404(session, slug)
    require_role(user, Role.TA)
    subs = crud.regrade_candidates(session, assignment=assignment, latest_only=body.latest_only)
    regrade, to_send = lifecycle.create_regrade(
        session, assignment=assignment, scope="latest" if body.latest_only else "all",
        requested_by=user, submissions=subs)
    return _start(request, session, regrade, to_send)


@router.get("/regrades/{regrade_id}", response_model=RegradeOut)
def get_regrade(regrade_id: Id, user: CurrentUser, session: SessionDep) -> RegradeOut:
    regrade = crud.get_regrade(session, regrade_id=regrade_id)
    if regrade is None:
        raise not_found("regrade")
    require_role(user, Role.TA)
    return regrade_out(session, regrade)
