"""Assignments: settings (deadlines, penalty, limits), extensions, gradebook and statistics."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from submissions_api.deps import CurrentUser, ReleasingRoute, SessionDep
from submissions_api.schemas import AssignmentOut, AssignmentUpdate, ExtensionIn, ExtensionOut
from submissions_api.services import assignments as service
from submissions_api.services import exports, gradebook, visibility

router = APIRouter(route_class=ReleasingRoute, tags=["assignments"])
POLICY = Query("best", pattern="^(best|latest)$")
FORMAT = Query("mlpgrade", pattern="^(" + "|".join(exports.FORMATS) + ")$")


@router.get("/assignments", response_model=list[AssignmentOut])
def list_assignments(user: CurrentUser, session: SessionDep) -> list[AssignmentOut]:
    return [AssignmentOut.model_validate(a)
            for a in visibility.visible_assignments(session, user)]


@router.get("/assignments/{slug}", response_model=AssignmentOut)
def get_assignment(slug: str, user: CurrentUser, session: SessionDep) -> AssignmentOut:
    return AssignmentOut.model_validate(visibility.visible_assignment(session, slug, user))


@router.patch("/assignments/{slug}", response_model=AssignmentOut)
def update_assignment(slug: str, body: AssignmentUpdate, user: CurrentUser,
                      session: SessionDep) -> AssignmentOut:
    """Set the deadline, late deadline and penalty, submission limit, cooldown (instructors).
    Fields sent as null are cleared; fields not sent are kept."""
    assignment = service.update_assignment(session, user, slug,
                                           body.model_dump(exclude_unset=True))
    return AssignmentOut.model_validate(assignment)


@router.get("/assignments/{slug}/extensions", response_model=list[ExtensionOut])
def list_extensions(slug: str, user: CurrentUser, session: SessionDep) -> list[ExtensionOut]:
    return [ExtensionOut(login=u.login, deadline=e.deadline, late_deadline=e.late_deadline,
                         reason=e.reason)
            for e, u in service.list_extensions(session, user, slug)]


@router.put("/assignments/{slug}/extensions/{login}", response_model=ExtensionOut)
def set_extension(slug: str, login: str, body: ExtensionIn, user: CurrentUser,
                  session: SessionDep) -> ExtensionOut:
    """Grant (or change) one student's extension (TAs and instructors)."""
    ext = service.set_extension(session, user, slug, login, deadline=body.deadline,
                                late_deadline=body.late_deadline, reason=body.reason)
    return ExtensionOut(login=login, deadline=ext.deadline, late_deadline=ext.late_deadline,
                        reason=ext.reason)


@router.delete("/assignments/{slug}/extensions/{login}", status_code=204)
def delete_extension(slug: str, login: str, user: CurrentUser, session: SessionDep) -> Response:
    service.delete_extension(session, user, slug, login)
    return Response(status_code=204)


@router.get("/assignments/{slug}/gradebook.csv", response_class=Response)
def gradebook_csv(slug: str, user: CurrentUser, session: SessionDep, policy: str = POLICY,
                  format: str = FORMAT, feedback: bool = False) -> Response:
    """One row per student: best or latest graded submission, late penalty applied. `format`:
    `mlpgrade` (ours), `canvas` (Canvas's gradebook import), `moodle` (Moodle's grade import;
    `feedback` adds the score as the pages write it) or `tests` (points per test)."""
    text, filename = exports.gradebook_export(session, user, slug, policy, format,
                                              feedback=feedback)
    return Response(text, media_type="text/csv", headers=exports.download_headers(filename))


@router.get("/assignments/{slug}/tests/{test_id}/failing")
def failing_students(slug: str, test_id: str, user: CurrentUser, session: SessionDep,
                     policy: str = POLICY) -> dict:
    """The students whose submission that counts fails this test, with why (TAs)."""
    return exports.failing(session, user, slug, test_id, policy)


@router.get("/assignments/{slug}/stats")
def assignment_stats(slug: str, user: CurrentUser, session: SessionDep,
                     policy: str = POLICY) -> dict:
    return {"assignment": slug, "policy": policy,
            **gradebook.assignment_stats(session, user, slug, policy)}
