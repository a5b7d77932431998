"""Assignments: settings (deadlines, penalty, limits), extensions, gradebook and statistics."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from submissions_api import gradebook
from submissions_api.deps import SessionDep
from submissions_api.routes.common import assignment_or_404, manual_items, total_max_score
from submissions_api.schemas import AssignmentOut, AssignmentUpdate, ExtensionIn, ExtensionOut
from submissions_api.security import CurrentUser, not_found, require_role
from submissions_api.store import crud
from submissions_api.store.models import Role

router = APIRouter(tags=["assignments"])


@router.get("/assignments", response_model=list[AssignmentOut])
def list_assignments(user: CurrentUser, session: SessionDep) -> list[AssignmentOut]:
    return [AssignmentOut.model_validate(a) for a in crud.list_assignments(session)]


@router.get("/assignments/{slug}", response_model=AssignmentOut)
def get_assignment(slug: str, user: CurrentUser, session: SessionDep) -> AssignmentOut:
    return AssignmentOut.model_validate(assignment_or_404(session, slug))


@router.patch("/assignments/{slug}", response_model=AssignmentOut)
def update_assignment(slug: str, body: AssignmentUpdate, user: CurrentUser,
                      session: SessionDep) -> AssignmentOut:
    """Set the deadline, late deadline and penalty, submission limit, cooldown (instructors).
    Fields sent as null are cleared; fields not sent are kept."""
    assignment = assignment_or_404(session, slug)
    require_role(user, Role.INSTRUCTOR)
    changes = body.model_dump(exclude_unset=True)
    for key in ("late_penalty", "cooldown_seconds"):
        if key in changes and changes[key] is None:
            changes[key] = 0
    crud.update_assignment(session, assignment=assignment, changes=changes)
    session.commit()
    return AssignmentOut.model_validate(assignment)


@router.get("/assignments/{slug}/extensions", response_model=list[ExtensionOut])
def list_extensions(slug: str, user: CurrentUser, session: SessionDep) -> list[ExtensionOut]:
    assignment = assignment_or_404(session, slug)
    require_role(user, Role.TA)
    return [ExtensionOut(login=u.login, deadline=e.deadline, late_deadline=e.late_deadline,
                         reason=e.reason)
            for e, u in crud.list_extensions(session, assignment=assignment)]


@router.put("/assignments/{slug}/extensions/{login}", response_model=ExtensionOut)
def set_extension(slug: str, login: str, body: ExtensionIn, user: CurrentUser,
                  session: SessionDep) -> ExtensionOut:
    """Grant (or change) one student's extension (TAs and instructors)."""
    assignment = assignment_or_404(session, slug)
    student = crud.get_user_by_login(session, login=login)
    if student is None:
        raise not_found("user")
    require_role(user, Role.TA)
    ext = crud.set_extension(session, assignment=assignment, user=student, deadline=body.deadline,
                             late_deadline=body.late_deadline, reason=body.reason, granted_by=user)
    session.commit()
    return ExtensionOut(login=login, deadline=ext.deadline, late_deadline=ext.late_deadline,
                        reason=ext.reason)


@router.delete("/assignments/{slug}/extensions/{login}", status_code=204)
def delete_extension(slug: str, login: str, user: CurrentUser, session: SessionDep) -> Response:
    assignment = assignment_or_404(session, slug)
    student = crud.get_user_by_login(session, login=login)
    ext = crud.get_extension(session, assignment=assignment, user=student) if student else None
    if ext is None:
        raise not_found("extension")
    require_role(user, Role.TA)
    crud.delete_extension(session, extension=ext)
    session.commit()
    return Response(status_code=204)


def gradebook_table(session, assignment, policy: str) -> list[dict]:  # noqa: ANN001
    """The gradebook's rows (one per student; best or latest), as the CSV and the pages show."""
    items = {i["id"] for i in manual_items(assignment.slug)}
    rows = crud.gradebook_rows(session, assignment=assignment)
    graded_items = crud.manual_items_graded(session, assignment=assignment)
    students: dict[str, list[gradebook.Entry]] = {}
    for user, sub in rows:
        entries = students.setdefault(user.login, [])
        if sub is None:
            entries.append(gradebook.Entry(user.login, user.name, None, None, None, None, 0.0,
                                           False))
        else:
            pending = bool(items - graded_items.get(sub.id, set()))
            entries.append(gradebook.Entry(user.login, user.name, sub.id, sub.received_at,
                                           sub.status, sub.score, sub.late_penalty, sub.late,
                                           sub.manual_score, pending))
    return gradebook.gradebook(students, policy=policy, max_score=total_max_score(assignment))


@router.get("/assignments/{slug}/gradebook.csv", response_class=Response)
def gradebook_csv(slug: str, user: CurrentUser, session: SessionDep,
                  policy: str = Query("best", pattern="^(best|latest)$")) -> Response:
    """One row per student: best or latest graded submission, late penalty applied."""
    assignment = assignment_or_404(session, slug)
    require_role(user, Role.TA)
    text = gradebook.to_csv(gradebook_table(session, assignment, policy))
    return Response(text, media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{slug}-{policy}.csv"'})


@router.get("/assignments/{slug}/stats")
def assignment_stats(slug: str, user: CurrentUser, session: SessionDep,
                     policy: str = Query("best", pattern="^(best|latest)$")) -> dict:
    assignment = assignment_or_404(session, slug)
    require_role(user, Role.TA)
    summary, _ = class_stats(session, assignment, gradebook_table(session, assignment, policy))
    return {"assignment": slug, "policy": policy, **summary}


def class_stats(session, assignment, rows: list[dict]  # noqa: ANN001
                ) -> tuple[dict, list[dict]]:
    """Statistics of gradebook rows (scores, per-test pass rates of the counted runs), with the
    run summaries they were computed from (the dashboard groups their failures)."""
    ids = [r["submission_id"] for r in rows if r["submission_id"] != ""]
    summaries = crud.current_summaries(session, submission_ids=ids)
    return {"max_score": total_max_score(assignment),
            **gradebook.stats(rows, summaries,
                              crud.status_counts(session, assignment=assignment))}, summaries
