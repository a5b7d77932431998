"""Students' pages: upload with a receipt, their submissions with live status, the result."""

from __future__ import annotations

import math

from fastapi import File, HTTPException, Request, Response, UploadFile

from submissions_api.deps import SessionDep
from submissions_api.pages.base import page_router, render, see_other
from submissions_api.policy import final_score, window_for
from submissions_api.routes import submissions as api
from submissions_api.routes.common import assignment_or_404, submission_out
from submissions_api.security import PageUser, not_found, require_owner_or_staff
from submissions_api.store import crud
from submissions_api.store.models import Assignment, Submission, User

router = page_router()
LIVE = ("queued", "running")


def remaining(session, assignment: Assignment, user: User) -> int | None:  # noqa: ANN001
    """Submissions the student has left (None: no limit)."""
    if assignment.submission_limit is None:
        return None
    counted, _ = crud.counted_submissions(session, assignment=assignment, user=user)
    return max(assignment.submission_limit - counted, 0)


def wait_estimate(session, position: int) -> int | None:  # noqa: ANN001
    """Seconds until a submission at `position` is done: one recent grading time per place."""
    if position <= 0:
        return None
    mean = crud.recent_grading_seconds(session)
    return math.ceil(position * mean) if mean else None


def _assignment_page(request: Request, session, user: User, assignment: Assignment,  # noqa: ANN001
                     *, error: str = "", status_code: int = 200) -> Response:
    ext = crud.get_extension(session, assignment=assignment, user=user)
    window = window_for(deadline=assignment.deadline, late_deadline=assignment.late_deadline,
                        penalty=assignment.late_penalty,
                        extension_deadline=ext.deadline if ext else None,
                        extension_late_deadline=ext.late_deadline if ext else None)
    subs = crud.list_submissions(session, assignment_id=assignment.id, user_id=user.id)
    return render(request, "assignment.html", status_code=status_code, title=assignment.title,
                  assignment=assignment, window=window, error=error,
                  remaining=remaining(session, assignment, user),
                  submissions=[submission_out(session, s, staff=False) for s in subs])


@router.get("/assignments/{slug}")
def assignment_page(slug: str, request: Request, user: PageUser, session: SessionDep):
    return _assignment_page(request, session, user, assignment_or_404(session, slug))


@router.post("/assignments/{slug}/upload")
def upload(slug: str, request: Request, user: PageUser, session: SessionDep,
           file: UploadFile | None = File(None)):
    """The API's upload (deadline, limit, cooldown included); refusals re-render the form."""
    assignment = assignment_or_404(session, slug)
    if file is None or not file.filename:
        return _assignment_page(request, session, user, assignment, status_code=422,
                                error="Choose your handin.tar first.")
    try:
        accepted = api.upload(slug, request, Response(), user, session, file)
    except HTTPException as exc:
        if exc.status_code == 404:
            raise
        session.rollback()
        return _assignment_page(request, session, user, assignment, error=str(exc.detail),
                                status_code=exc.status_code)
    return see_other(f"/submissions/{accepted.id}?receipt=1")


def _own_submission(session, user: User, submission_id: int) -> Submission:  # noqa: ANN001
    sub = crud.get_submission(session, submission_id=submission_id)
    if sub is None:
        raise not_found("submission")
    require_owner_or_staff(user, sub.user_id)
    return sub


@router.get("/submissions/{submission_id}")
def submission_page(submission_id: int, request: Request, user: PageUser, session: SessionDep,
                    receipt: int = 0):
    """The student's view (also for staff: exactly what the student sees)."""
    sub = _own_submission(session, user, submission_id)
    out = submission_out(session, sub, staff=False, with_result=True)
    result = out.result or {}
    return render(request, "submission.html", title=f"Submission {sub.id}", sub=out,
                  auto_score=final_score(sub.score, sub.late_penalty),
                  plots=result.get("artifacts", []), run_id=sub.current_run_id,
                  result=result, failed=[t for t in result.get("tests", []) if not t["passed"]],
                  manual=out.manual, receipt=bool(receipt), live=out.status in LIVE,
                  training_live=out.training == "pending",
                  wait=wait_estimate(session, out.queue_position),
                  remaining=remaining(session, sub.assignment, sub.user),
                  limit=sub.assignment.submission_limit)


@router.get("/submissions/{submission_id}/status.json")
def submission_status(submission_id: int, user: PageUser, session: SessionDep) -> dict:
    """What the live status line polls while a submission is queued or running."""
    sub = _own_submission(session, user, submission_id)
    out = submission_out(session, sub, staff=False)
    run = crud.get_run(session, run_id=sub.current_run_id)
    return {"id": out.id, "status": out.status, "training": run.training if run else None,
            "queue_position": out.queue_position,
            "wait_seconds": wait_estimate(session, out.queue_position), "score": out.score,
            "final_score": out.final_score, "max_score": out.max_score}
