"""Uploads and results. The submission is committed before the 202 is sent."""

from __future__ import annotations

from fastapi import APIRouter, File, HTTPException, Query, Request, Response, UploadFile, status

from submissions_api.deps import SessionDep
from submissions_api.policy import classify, limit_refusal, window_for
from submissions_api.routes.common import assignment_or_404, manual_items, submission_out
from submissions_api.routes.params import Id, Limit, Offset
from submissions_api.schemas import ManualGradeIn, RunOut, SubmissionAccepted, SubmissionOut
from submissions_api.security import (
    CurrentUser,
    is_staff,
    not_found,
    require_owner_or_staff,
    require_role,
)
from submissions_api.store import crud
from submissions_api.store.models import Role, utcnow

router = APIRouter(tags=["submissions"])


@router.post("/assignments/{slug}/submissions", status_code=202, response_model=SubmissionAccepted)
def upload(slug: str, request: Request, response: Response, user: CurrentUser,
           session: SessionDep, file: UploadFile = File(description="handin.tar")
           ) -> SubmissionAccepted:
    """Accept a handin.tar for grading. Students are held to the deadline, the submission limit
    and the cooldown; staff are not."""
    assignment = assignment_or_404(session, slug)
    settings = request.app.state.settings
    data = file.file.read(settings.upload_max_bytes + 1)
    if len(data) > settings.upload_max_bytes:
        raise HTTPException(413,
                            f"handin.tar is larger than {settings.upload_max_bytes} bytes")
    if not data:
        raise HTTPException(422, "empty upload")
    now = utcnow()
    late, penalty = False, 0.0
    if not is_staff(user):
        crud.lock_user(session, user=user)
        ext = crud.get_extension(session, assignment=assignment, user=user)
        timing = classify(now, window_for(
            deadline=assignment.deadline, late_deadline=assignment.late_deadline,
            penalty=assignment.late_penalty,
            extension_deadline=ext.deadline if ext else None,
            extension_late_deadline=ext.late_deadline if ext else None))
        if not timing.accepted:
            raise HTTPException(status.HTTP_403_FORBIDDEN, timing.reason)
        counted, last = crud.counted_submissions(session, assignment=assignment, user=user)
        refusal = limit_refusal(counted=counted, last_received=last,
                                limit=assignment.submission_limit,
                                cooldown_seconds=assignment.cooldown_seconds, now=now)
        if refusal:
            message, wait = refusal
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, message,
                                headers={"Retry-After": str(wait)} if wait else None)
        late, penalty = timing.late, timing.penalty
    sub = crud.create_submission(session, user=user, assignment=assignment, data=data,
                                 filename=file.filename or "handin.tar", received_at=now,
                                 late=late, penalty=penalty)
    session.commit()  # durable before we answer or enqueue
    request.app.state.dispatcher.send_grade(sub.id, sub.attempts)
    response.headers["Location"] = f"{request.url.path.rsplit('/assignments', 1)[0]}/submissions/{sub.id}"
    return SubmissionAccepted(
        id=sub.id, sha256=sub.blob_sha256, size=sub.size, status=sub.status,
        server_time=utcnow(), received_at=sub.received_at, late=sub.late,
        late_penalty=sub.late_penalty, queue_position=crud.queue_position(session, submission=sub))


@router.get("/submissions", response_model=list[SubmissionOut])
def list_submissions(user: CurrentUser, session: SessionDep, assignment: str | None = None,
                     login: str | None = None, status_: str | None = Query(None, alias="status"),
                     limit: Limit = 100, offset: Offset = 0) -> list[SubmissionOut]:
    """Students see their own submissions; staff see all, filtered by assignment, login, status."""
    assignment_id = assignment_or_404(session, assignment).id if assignment else None
    staff = is_staff(user)
    user_id = user.id
    if staff:
        user_id = None
        if login:
            target = crud.get_user_by_login(session, login=login)
            if target is None:
                raise not_found("user")
            user_id = target.id
    elif login and login != user.login:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "students see only their own submissions")
    rows = crud.list_submissions(session, assignment_id=assignment_id, user_id=user_id,
                                 status=status_, limit=min(limit, 1000), offset=offset)
    grades = crud.manual_grades(session, submission_ids=[s.id for s in rows])
    return [submission_out(session, s, staff=staff, grades=grades[s.id]) for s in rows]


@router.get("/submissions/{submission_id}", response_model=SubmissionOut)
def get_submission(submission_id: Id, user: CurrentUser, session: SessionDep) -> SubmissionOut:
    """One submission with its current result (per-test feedback; details for staff only)."""
    sub = crud.get_submission(session, submission_id=submission_id)
    if sub is None:
        raise not_found("submission")
    require_owner_or_staff(user, sub.user_id)
    return submission_out(session, sub, staff=is_staff(user), with_result=True)


@router.get("/submissions/{submission_id}/handin", response_class=Response)
def download_handin(submission_id: Id, user: CurrentUser, session: SessionDep) -> Response:
    sub = crud.get_submission(session, submission_id=submission_id)
    if sub is None:
        raise not_found("submission")
    require_owner_or_staff(user, sub.user_id)
    data = crud.get_blob(session, sha256=sub.blob_sha256) or b""
    return Response(data, media_type="application/x-tar",
                    headers={"Content-Disposition": f'attachment; filename="handin-{sub.id}.tar"'})


@router.get("/submissions/{submission_id}/runs", response_model=list[RunOut])
def list_runs(submission_id: Id, user: CurrentUser, session: SessionDep) -> list[RunOut]:
    """Every grading of a submission (staff): regrades keep history."""
    sub = crud.get_submission(session, submission_id=submission_id)
    if sub is None:
        raise not_found("submission")
    require_role(user, Role.TA)
    return [RunOut.model_validate(r) for r in crud.list_runs(session, submission_id=sub.id)]


@router.put("/submissions/{submission_id}/manual/{item_id}", response_model=SubmissionOut)
def set_manual_grade(submission_id: Id, item_id: str, body: ManualGradeIn, user: CurrentUser,
                     session: SessionDep) -> SubmissionOut:
    """A TA records the points (0 to the item's maximum) and a comment for a manual rubric item,
    e.g. the training statistics; the submission's final score then includes them. Recording
    again replaces the points; regrades keep them."""
    require_role(user, Role.TA)
    sub = crud.get_submission(session, submission_id=submission_id)
    if sub is None:
        raise not_found("submission")
    item = next((i for i in manual_items(sub.assignment.slug) if i["id"] == item_id), None)
    if item is None:
        raise not_found("manual item")
    if body.points > item["max_points"]:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                            f"{item['name']} is worth at most {item['max_points']:g} points")
    crud.set_manual_grade(session, submission=sub, item_id=item_id, points=body.points,
                          comment=body.comment, grader=user)
    session.commit()
    return submission_out(session, sub, staff=True, with_result=True)


@router.get("/runs/{run_id}/plots/{name}", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
def get_plot(run_id: Id, name: str, user: CurrentUser, session: SessionDep) -> Response:
    """A training plot (PNG) of a grading run: the hand-in's curve with the reference's."""
    run = crud.get_run(session, run_id=run_id)
    if run is None:
        raise not_found("run")
    sub = crud.get_submission(session, submission_id=run.submission_id)
    require_owner_or_staff(user, sub.user_id)
    sha = (run.artifacts or {}).get(name)
    if sha is None:
        raise not_found("plot")
    return Response(crud.get_blob(session, sha256=sha) or b"", media_type="image/png",
                    headers={"Cache-Control": "private, max-age=86400"})
