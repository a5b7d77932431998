"""Instructors' pages: golden sets (canary, generate, activate) and the assignment's settings."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Form, Request
from pydantic import ValidationError

from submissions_api.deps import SessionDep
from submissions_api.pages.base import page_router, render, see_other
from submissions_api.routes import assignments as assignments_api
from submissions_api.routes import golden as golden_api
from submissions_api.routes.common import assignment_or_404
from submissions_api.schemas import AssignmentUpdate
from submissions_api.security import PageUser, has_role, require_role
from submissions_api.store import crud
from submissions_api.store.models import Role

router = page_router()


@router.get("/staff/assignments/{slug}/golden")
def golden_sets(slug: str, request: Request, user: PageUser, session: SessionDep):
    assignment = assignment_or_404(session, slug)
    sets = golden_api.list_golden_sets(slug, user, session)  # TAs may look
    return render(request, "golden.html", title=f"{assignment.title} — golden sets",
                  assignment=assignment, sets=list(reversed(sets)),
                  instructor=has_role(user, Role.INSTRUCTOR),
                  live=any(g.status in ("generating", "verifying") for g in sets),
                  refresh=3 if any(g.status in ("generating", "verifying") for g in sets) else None)


@router.post("/staff/assignments/{slug}/golden/generate")
def generate(slug: str, request: Request, user: PageUser, session: SessionDep):
    golden_api.regenerate_golden_set(slug, request, user, session)
    return see_other(f"/staff/assignments/{slug}/golden")


@router.post("/staff/golden/{golden_id}/activate")
def activate(golden_id: int, user: PageUser, session: SessionDep):
    golden_api.activate_golden_set(golden_id, user, session)  # 409 unless its canary passed
    row = crud.get_golden_set(session, golden_id=golden_id)
    assignment = crud.get_assignment_by_id(session, assignment_id=row.assignment_id)
    return see_other(f"/staff/assignments/{assignment.slug}/golden")


@router.get("/staff/assignments/{slug}/settings")
def settings_form(slug: str, request: Request, user: PageUser, session: SessionDep,
                  saved: int = 0):
    assignment = assignment_or_404(session, slug)
    require_role(user, Role.INSTRUCTOR)
    return render(request, "settings.html", title=f"{assignment.title} — settings",
                  assignment=assignment, saved=bool(saved), error="", form=_form_values(assignment))


@router.post("/staff/assignments/{slug}/settings")
def save_settings(slug: str, request: Request, user: PageUser, session: SessionDep,
                  deadline: str = Form(""), late_deadline: str = Form(""),
                  late_penalty: str = Form(""), submission_limit: str = Form(""),
                  cooldown_seconds: str = Form("")):
    """Every field is sent: an empty one clears the setting (no deadline, no limit, ...)."""
    assignment = assignment_or_404(session, slug)
    require_role(user, Role.INSTRUCTOR)
    form = {"deadline": deadline, "late_deadline": late_deadline,
            "late_penalty": late_penalty, "submission_limit": submission_limit,
            "cooldown_seconds": cooldown_seconds}
    try:
        body = AssignmentUpdate(
            deadline=_utc(deadline), late_deadline=_utc(late_deadline),
            late_penalty=float(late_penalty) / 100 if late_penalty.strip() else None,
            submission_limit=int(submission_limit) if submission_limit.strip() else None,
            cooldown_seconds=int(cooldown_seconds) if cooldown_seconds.strip() else None)
    except (ValueError, ValidationError) as exc:
        return render(request, "settings.html", status_code=422,
                      title=f"{assignment.title} — settings", assignment=assignment, saved=False,
                      error=_explain(exc), form=form)
    assignments_api.update_assignment(slug, body, user, session)
    return see_other(f"/staff/assignments/{slug}/settings?saved=1")


def _utc(text: str) -> datetime | None:
    """A `datetime-local` field, read as UTC (the times the pages show)."""
    if not text.strip():
        return None
    return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)


def _form_values(assignment) -> dict[str, str]:  # noqa: ANN001
    def local(value: datetime | None) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if value else ""
    return {"deadline": local(assignment.deadline), "late_deadline": local(assignment.late_deadline),
            "late_penalty": f"{assignment.late_penalty * 100:g}" if assignment.late_penalty else "",
            "submission_limit": str(assignment.submission_limit or ""),
            "cooldown_seconds": str(assignment.cooldown_seconds or "")}


def _explain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return f"could not read the form: {exc}"

