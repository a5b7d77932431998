"""Course pages for TAs: per-student extensions of an assignment."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Form, Request

from submissions_api.deps import PageUser, SessionDep
from submissions_api.errors import ServiceError
from submissions_api.pages.base import page_router, render, see_other
from submissions_api.security import require_role
from submissions_api.services import assignments, fetch
from submissions_api.store.models import Role

router = page_router()


def _page(request: Request, session: SessionDep, user: PageUser, slug: str, *,
          error: str = "", form: dict[str, str] | None = None, status_code: int = 200,
          saved: str = ""):
    assignment = fetch.assignment(session, slug)
    rows = assignments.list_extensions(session, user, slug)  # TAs and instructors
    return render(request, "extensions.html", status_code=status_code,
                  title=f"{assignment.title} — extensions", assignment=assignment,
                  extensions=rows, error=error, saved=saved, form=form or {})


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
        assignments.set_extension(session, user, slug, login.strip(),
                                  deadline=_utc(deadline), late_deadline=_utc(late_deadline),
                                  reason=reason.strip())
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


def _utc(text: str) -> datetime | None:
    """A `datetime-local` field, read as UTC (the times the pages show)."""
    if not text.strip():
        return None
    return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)
