"""Instructors' pages: golden sets (canary, generate, activate) and the assignment's settings."""

from __future__ import annotations

from fastapi import Form, Request
from pydantic import ValidationError

from submissions_api.deps import DispatcherDep, PageUser, SessionDep
from submissions_api.errors import Refused
from submissions_api.pages.base import (
    course_zone,
    explain_errors,
    form_local,
    page_router,
    read_local,
    render,
    see_other,
)
from submissions_api.schemas import AssignmentUpdate
from submissions_api.security import has_role, require_role
from submissions_api.services import assignments, fetch, golden
from submissions_api.store.models import Assignment, Role

router = page_router()


@router.get("/staff/assignments/{slug}/golden")
def golden_sets(slug: str, request: Request, user: PageUser, session: SessionDep):
    assignment = fetch.assignment(session, slug)
    sets = golden.list_golden_sets(session, user, slug)  # TAs may look
    return render(request, "golden.html", title=f"{assignment.title} — golden sets",
                  assignment=assignment, sets=list(reversed(sets)),
                  instructor=has_role(user, Role.INSTRUCTOR), live=golden.any_live(sets),
                  preparing=golden.preparing(session, assignment),
                  refresh=3 if golden.any_live(sets) else None)


@router.post("/staff/assignments/{slug}/golden/generate")
def generate(slug: str, user: PageUser, session: SessionDep, dispatcher: DispatcherDep):
    golden.regenerate_golden_set(session, dispatcher, user, slug)
    return see_other(f"/staff/assignments/{slug}/golden")


@router.post("/staff/golden/{golden_id}/activate")
def activate(golden_id: int, user: PageUser, session: SessionDep):
    _, slug = golden.activate_golden_set(session, user, golden_id)  # 409 unless its canary passed
    return see_other(f"/staff/assignments/{slug}/golden")


@router.get("/staff/assignments/{slug}/settings")
def settings_form(slug: str, request: Request, user: PageUser, session: SessionDep,
                  saved: int = 0):
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.INSTRUCTOR)
    return render(request, "settings.html", title=f"{assignment.title} — settings",
                  assignment=assignment, saved=bool(saved), error="",
                  form=_form_values(assignment, course_zone(request)))


@router.post("/staff/assignments/{slug}/settings")
def save_settings(slug: str, request: Request, user: PageUser, session: SessionDep,
                  deadline: str = Form(""), late_deadline: str = Form(""),
                  late_penalty: str = Form(""), submission_limit: str = Form(""),
                  cooldown_seconds: str = Form(""), hidden: str = Form(""),
                  visible_from: str = Form(""), release_at: str = Form(""),
                  canvas_assignment_id: str = Form("")):
    """Every field is sent: an empty one clears the setting (no deadline, no limit, ...)."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.INSTRUCTOR)
    form = {"deadline": deadline, "late_deadline": late_deadline,
            "late_penalty": late_penalty, "submission_limit": submission_limit,
            "cooldown_seconds": cooldown_seconds, "hidden": hidden,
            "visible_from": visible_from, "release_at": release_at,
            "canvas_assignment_id": canvas_assignment_id}
    zone = course_zone(request)
    try:
        body = AssignmentUpdate(
            deadline=read_local(deadline, zone), late_deadline=read_local(late_deadline, zone),
            late_penalty=float(late_penalty) / 100 if late_penalty.strip() else None,
            submission_limit=int(submission_limit) if submission_limit.strip() else None,
            cooldown_seconds=int(cooldown_seconds) if cooldown_seconds.strip() else None,
            hidden=bool(hidden), visible_from=read_local(visible_from, zone),
            release_at=read_local(release_at, zone),
            canvas_assignment_id=canvas_assignment_id.strip())
        assignments.update_assignment(session, user, slug, body.model_dump(exclude_unset=True),
                                      zone=zone)
    except (ValueError, ValidationError, Refused) as exc:
        session.rollback()
        return render(request, "settings.html", status_code=422,
                      title=f"{assignment.title} — settings", assignment=assignment, saved=False,
                      error=_explain(exc), form=form)
    return see_other(f"/staff/assignments/{slug}/settings?saved=1")


def _form_values(assignment: Assignment, zone: str) -> dict[str, str]:
    def local(value):
        return form_local(value, zone)
    return {"deadline": local(assignment.deadline),
            "late_deadline": local(assignment.late_deadline),
            "late_penalty": f"{assignment.late_penalty * 100:g}" if assignment.late_penalty else "",
            "submission_limit": str(assignment.submission_limit or ""),
            "cooldown_seconds": str(assignment.cooldown_seconds or ""),
            "hidden": "1" if assignment.hidden else "",
            "visible_from": local(assignment.visible_from),
            "release_at": local(assignment.release_at),
            "canvas_assignment_id": assignment.canvas_assignment_id or ""}


def _explain(exc: Exception) -> str:
    if isinstance(exc, Refused):
        return exc.message
    if isinstance(exc, ValidationError):
        return explain_errors(exc.errors())
    return f"could not read the form: {exc}"
