"""Course pages for TAs: per-student extensions of an assignment."""

from __future__ import annotations

from fastapi import Form, Request

from submissions_api.deps import PageUser, SessionDep
from submissions_api.errors import ServiceError
from submissions_api.pages.base import course_zone, page_router, read_local, render, see_other
from submissions_api.security import require_role
from submissions_api.services import assignments, fetch
from submissions_api.services.policy import window_for
from submissions_api.store.models import Role

router = page_router()


def _page(request: Request, session: SessionDep, user: PageUser, slug: str, *,
          error: str = "", form: dict[str, str] | None = None, status_code: int = 200,
          saved: str = ""):
    assignment = fetch.assignment(session, slug)
    rows = assignments.list_extensions(session, user, slug)  # TAs and instructors
    # the late-until in force: the extension's own, else the assignment's grace period after
    # the new deadline (what the student's pages show)
    late = {student.login: window_for(
        deadline=assignment.deadline, late_deadline=assignment.late_deadline,
        penalty=assignment.late_penalty, extension_deadline=ext.deadline,
        extension_late_deadline=ext.late_deadline).late_deadline for ext, student in rows}
    return render(request, "extensions.html", status_code=status_code,
                  title=f"{assignment.title} — extensions", assignment=assignment,
                  extensions=rows, late=late, error=error, saved=saved, form=form or {})


@router.get("/staff/assignments/{slug}/extensions")
def extensions(slug: str, request: Request, user: PageUser, session: SessionDep,
               saved: str = ""):
    return _page(request, session, user, slug, saved=saved)


@router.post("/staff/assignments/{slug}/extensions")
def grant(slug: str, request: Request, user: PageUser, session: SessionDep,
          login: str = Form(""), deadline: str = Form(""), late_deadline: str = Form(""),
          reason: str = Form("")):
    """Grant or change one student's extension; a refusal re-renders the form with its reason."""
    require_role(user, Role.TA)
    form = {"login": login, "deadline": deadline, "late_deadline": late_deadline,
            "reason": reason}
    try:
        if not login.strip() or not deadline.strip():
            raise ValueError("Give the student's login and the new deadline.")
        zone = course_zone(request)
        assignments.set_extension(session, user, slug, login.strip(),
                                  deadline=read_local(deadline, zone),
                                  late_deadline=read_local(late_deadline, zone),
                                  reason=reason.strip(), zone=zone)
    except ServiceError as exc:
        session.rollback()
        return _page(request, session, user, slug, error=exc.message, form=form,
                     status_code=exc.status)
    except ValueError as exc:
        return _page(request, session, user, slug, error=str(exc), form=form, status_code=422)
    return see_other(f"/staff/assignments/{slug}/extensions?saved={login.strip()}")


@router.post("/staff/assignments/{slug}/extensions/{login}/delete")
def revoke(slug: str, login: str, user: PageUser, session: SessionDep):
    assignments.delete_extension(session, user, slug, login)
    return see_other(f"/staff/assignments/{slug}/extensions")
