"""Uploads and results. The submission is committed before the 202 is sent."""

from __future__ import annotations

from fastapi import APIRouter, File, Header, Query, Request, Response, UploadFile

from submissions_api.deps import (
    CurrentUser,
    DispatcherDep,
    ReleasingRoute,
    SessionDep,
    SettingsDep,
)
from submissions_api.routes.params import Id, Limit, Offset
from submissions_api.schemas import ManualGradeIn, RunOut, SubmissionAccepted, SubmissionOut
from submissions_api.services import fetch, manual
from submissions_api.services import submissions as service

router = APIRouter(route_class=ReleasingRoute, tags=["submissions"])


@router.post("/assignments/{slug}/submissions", status_code=202, response_model=SubmissionAccepted)
def upload(slug: str, request: Request, response: Response, user: CurrentUser,
           session: SessionDep, settings: SettingsDep, dispatcher: DispatcherDep,
           file: UploadFile = File(description="handin.tar"),
           idempotency_key: str | None = Header(None, description=(
               "A new random key (a UUID) per upload, sent again with each retry of it: a "
               "retry gets the first submission back"))) -> SubmissionAccepted:
    """Accept a handin.tar for grading. Students are held to the deadline, the submission limit
    and the cooldown; staff are not. Larger than the upload limit: 413, nothing stored. The
    same upload again (same Idempotency-Key, or same bytes within the duplicate window) is
    answered with the first submission's receipt."""
    assignment = fetch.assignment(session, slug)
    data = service.read_upload(file.file, settings.upload_max_bytes, assignment)
    accepted = service.accept_upload(session, dispatcher, user=user, assignment=assignment,
                                     data=data, filename=file.filename or "handin.tar",
                                     idempotency_key=idempotency_key)
    base = request.url.path.rsplit("/assignments", 1)[0]
    response.headers["Location"] = f"{base}/submissions/{accepted.id}"
    return accepted


@router.get("/submissions", response_model=list[SubmissionOut])
def list_submissions(user: CurrentUser, session: SessionDep, assignment: str | None = None,
                     login: str | None = None, status_: str | None = Query(None, alias="status"),
                     limit: Limit = 100, offset: Offset = 0) -> list[SubmissionOut]:
    """Students see their own submissions; staff see all, filtered by assignment, login, status."""
    return service.list_submissions(session, user, assignment=assignment, login=login,
                                    status=status_, limit=limit, offset=offset)


@router.get("/submissions/{submission_id}", response_model=SubmissionOut)
def get_submission(submission_id: Id, user: CurrentUser, session: SessionDep) -> SubmissionOut:
    """One submission with its current result (per-test feedback; details for staff only)."""
    return service.get_submission(session, user, submission_id)


@router.get("/submissions/{submission_id}/handin", response_class=Response)
def download_handin(submission_id: Id, user: CurrentUser, session: SessionDep) -> Response:
    sub, data = service.handin(session, user, submission_id)
    return Response(data, media_type="application/x-tar",
                    headers={"Content-Disposition": f'attachment; filename="handin-{sub.id}.tar"'})


@router.get("/submissions/{submission_id}/runs", response_model=list[RunOut])
def list_runs(submission_id: Id, user: CurrentUser, session: SessionDep) -> list[RunOut]:
    """Every grading of a submission (staff): regrades keep history."""
    return [RunOut.model_validate(r) for r in service.runs(session, user, submission_id)]


@router.put("/submissions/{submission_id}/manual/{item_id}", response_model=SubmissionOut)
def set_manual_grade(submission_id: Id, item_id: str, body: ManualGradeIn, user: CurrentUser,
                     session: SessionDep) -> SubmissionOut:
    """A TA records the points (0 to the item's maximum) and a comment for a manual rubric item,
    e.g. the training statistics; the submission's final score then includes them. Recording
    again replaces the points; regrades keep them."""
    sub = manual.set_manual_grade(session, user, submission_id, item_id, points=body.points,
                                  comment=body.comment)
    return service.submission_view(session, sub, staff=True, with_result=True)


@router.get("/runs/{run_id}/plots/{name}", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
def get_plot(run_id: Id, name: str, user: CurrentUser, session: SessionDep) -> Response:
    """A training plot (PNG) of a grading run: the hand-in's curve with the reference's."""
    return Response(service.plot(session, user, run_id, name), media_type="image/png",
                    headers={"Cache-Control": "private, max-age=86400"})
