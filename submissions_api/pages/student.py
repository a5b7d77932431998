"""Students' pages: upload with a receipt, their submissions with live status, the result."""

from __future__ import annotations

import uuid

from fastapi import File, Form, Request, Response, UploadFile
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from submissions_api.deps import DispatcherDep, PageUser, SessionDep, SettingsDep
from submissions_api.errors import ServiceError
from submissions_api.pages.base import course_zone, page_router, render, see_other
from submissions_api.services import annotations, attempts, regrade_requests, sources, visibility
from submissions_api.services import student_context as context
from submissions_api.services import submissions as service
from submissions_api.store import crud
from submissions_api.store.models import Assignment, User
from submissions_api.store.models_grading import Submission, TrainingStatus

router = page_router()


def _assignment_page(request: Request, session: Session, user: User, assignment: Assignment,
                     *, error: str = "", status_code: int = 200) -> Response:
    subs = crud.list_submissions(session, assignment_id=assignment.id, user_id=user.id,
                                 limit=1000)
    views = service.submission_views(session, subs, staff=False)
    upload = context.upload_context(session, assignment, user, zone=course_zone(request))
    window = service.student_window(session, assignment, user)
    return render(request, "assignment.html", status_code=status_code, title=assignment.title,
                  assignment=assignment, window=window, extended=window.extended,
                  error=error, remaining=upload.remaining, upload=upload, submissions=views,
                  numbers=context.numbers(views), counting=context.counting_id(views),
                  policy=context.COUNTING_POLICY, upload_key=uuid.uuid4().hex)


@router.get("/assignments/{slug}")
def assignment_page(slug: str, request: Request, user: PageUser, session: SessionDep):
    return _assignment_page(request, session, user,
                            visibility.visible_assignment(session, slug, user))


@router.get("/assignments/{slug}/handout.tar")
def handout(slug: str, user: PageUser, session: SessionDep) -> Response:
    """The starter code and create_tarball.sh, for everyone who sees the assignment."""
    return Response(attempts.student_handout(session, user, slug),
                    media_type="application/x-tar", headers={
                        "Content-Disposition": f'attachment; filename="{slug}-handout.tar"'})


@router.get("/assignments/{slug}/compare")
def compare(slug: str, request: Request, user: PageUser, session: SessionDep,
            settings: SettingsDep, before: int, after: int):
    """What changed in the code from one of the student's submissions to another."""
    old, new, changes = attempts.compare_own(session, user, before, after,
                                             max_bytes=settings.upload_max_bytes)
    number = {s.id: crud.submission_number(session, submission=s) for s in (old, new)}
    return render(request, "compare.html", title=f"#{number[old.id]} → #{number[new.id]}",
                  assignment=old.assignment, before=old, after=new, number=number,
                  changes=changes)


@router.post("/assignments/{slug}/upload")
def upload(slug: str, request: Request, user: PageUser, session: SessionDep,
           settings: SettingsDep, dispatcher: DispatcherDep,
           file: UploadFile | None = File(None), idempotency_key: str = Form("")):
    """The API's upload (size, deadline, limit, cooldown included); refusals re-render the form."""
    assignment = visibility.visible_assignment(session, slug, user)
    if file is None or not file.filename:
        return _assignment_page(request, session, user, assignment, status_code=422,
                                error="Choose your handin.tar first.")
    try:
        data = service.read_upload(file.file, settings.upload_max_bytes, assignment)
        accepted = service.accept_upload(session, dispatcher, user=user, assignment=assignment,
                                         data=data, filename=file.filename,
                                         idempotency_key=idempotency_key)
    except ServiceError as exc:
        session.rollback()
        return _assignment_page(request, session, user, assignment, error=exc.message,
                                status_code=exc.status)
    return see_other(f"/submissions/{accepted.id}?receipt=1")


@router.get("/submissions/{submission_id}")
def submission_page(submission_id: int, request: Request, user: PageUser, session: SessionDep,
                    settings: SettingsDep, receipt: int = 0):
    """The student's view (also for staff: exactly what the student sees)."""
    sub = service.own_submission(session, user, submission_id)
    out = service.submission_view(session, sub, staff=False, with_result=True,
                                  reader=user if user.id == sub.user_id else None)
    result = out.result or {}
    live = out.status in service.LIVE
    number = crud.submission_number(session, submission=sub)
    previous = crud.previous_submission(session, submission=sub)
    named = _named_sources(session, sub, result, settings.upload_max_bytes)
    return render(request, "submission.html", title=f"Submission #{number}", sub=out,
                  number=number, previous_id=previous.id if previous else None,
                  plots=result.get("artifacts", []), run_id=sub.current_run_id,
                  result=result, failed=[t for t in result.get("tests", []) if not t["passed"]],
                  manual=out.manual, receipt=bool(receipt), live=live,
                  training_live=out.training == TrainingStatus.PENDING,
                  live_text=service.live_status(session, user, sub.id)["line"] if live else "",
                  remaining=service.remaining(session, sub.assignment, sub.user),
                  limit=sub.assignment.submission_limit, named=named,
                  code_links=sources.code_links(named), paths={f.path for f in named},
                  highlight_css=sources.highlight_css(),
                  **_manual_extras(session, user, sub, out.manual, settings.upload_max_bytes))


def _named_sources(session: Session, sub: Submission, result: dict, max_bytes: int
                   ) -> list[sources.SourceFile]:
    """The student's own files their feedback names (tracebacks, the causes' places), shown on
    the page so "Look at `Linear.backward` in mytorch/linear.py" and a traceback's `File …,
    line N` link to the line."""
    named = sources.named_files(result)
    if not named:
        return []
    return [f for f in sources.handin_sources(session, sub, max_bytes=max_bytes)
            if f.path in named]


def _manual_extras(session: Session, user: User, sub: Submission, manual: list[dict],
                   max_bytes: int) -> dict:
    """Once manual points are released: the annotated files and the regrade requests."""
    if not any(m["points"] is not None for m in manual):
        return {"annotated": [], "requests": {}}
    return {"annotated": annotations.for_student(session, sub, max_bytes=max_bytes),
            "requests": regrade_requests.of_student(session, user, sub.assignment.slug,
                                                    sub.user)}


@router.get("/submissions/{submission_id}/status.json")
async def submission_status(submission_id: int, request: Request, user: PageUser,
                            session: SessionDep, seen: str | None = None) -> dict:
    """What the live status line polls while a submission is queued or running. With `seen`
    (the `state` of its last answer) the answer waits until the state changed, at most
    changes.WAIT seconds (services/changes.py): a pending result costs one request per change,
    not one a second."""
    if seen:
        await run_in_threadpool(_own, session, user, submission_id)  # before anything is told
        await request.app.state.changes.wait(submission_id, seen)
    return await run_in_threadpool(service.live_status, session, user, submission_id)


def _own(session: Session, user: User, submission_id: int) -> None:
    """Refuse (404/403) unless the caller may see the submission; the connection goes back to
    the pool before the wait."""
    try:
        service.own_submission(session, user, submission_id)
    finally:
        session.rollback()
