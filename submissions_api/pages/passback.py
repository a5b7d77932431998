"""The staff page of an assignment's LMS passback: per student the score last sent, pending or
failing with the platform's answer; re-send every score; sync an LMS course's roster."""

from __future__ import annotations

from fastapi import Request

from submissions_api.deps import DispatcherDep, PageUser, SessionDep
from submissions_api.pages.base import page_router, render, see_other
from submissions_api.services import passback

router = page_router()


@router.get("/staff/assignments/{slug}/lms")
def lms_page(slug: str, request: Request, user: PageUser, session: SessionDep):
    view = passback.status(session, user, slug)
    return render(request, "staff_lms_grades.html",
                  title=f"{view['assignment'].title} — LMS grades",
                  resent=request.query_params.get("resent"),
                  synced=request.query_params.get("synced"), **view)


@router.post("/staff/assignments/{slug}/lms/resend")
def resend(slug: str, user: PageUser, session: SessionDep):
    count = passback.resend(session, user, slug)
    return see_other(f"/staff/assignments/{slug}/lms?resent={count}")


@router.post("/staff/assignments/{slug}/lms/sync/{context_pk}")
def sync(slug: str, context_pk: int, user: PageUser, session: SessionDep,
         dispatcher: DispatcherDep):
    context = passback.request_sync(session, user, context_pk, dispatcher)
    return see_other(f"/staff/assignments/{slug}/lms?synced={context.id}")
