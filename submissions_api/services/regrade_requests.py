"""Regrade requests: a student asks, once per manual item, for a TA to look at its points again
with a reason; a TA answers with points and a comment (the points reach the gradebook and the
LMS like any manual points); both see the request and its answer."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from grader.text import printable
from submissions_api.errors import Forbidden, NotFound, Refused
from submissions_api.schemas import MAX_COMMENT
from submissions_api.security import require_role
from submissions_api.services import fetch
from submissions_api.services.rubric_items import manual_item
from submissions_api.services.visibility import released
from submissions_api.store import crud
from submissions_api.store.models import Role, User, utcnow
from submissions_api.store.models_rubric import RegradeRequest


def _text(text: str, what: str) -> str:
    text = printable(text).strip()
    if not text or len(text) > MAX_COMMENT:
        raise Refused(f"{what} has 1 to {MAX_COMMENT} characters")
    return text


def ask(session: Session, user: User, submission_id: int, item_id: str, reason: str
        ) -> RegradeRequest:
    """The student asks for a regrade of a manual item they were given points for (once)."""
    sub = fetch.submission(session, submission_id)
    if sub.user_id != user.id:
        raise Forbidden("only the student asks for a regrade of their points")
    item = manual_item(sub.assignment.slug, item_id)
    grade = crud.manual_grades(session, keys=[(sub.user_id, sub.assignment_id)])[
        sub.user_id, sub.assignment_id]
    given = next((g for g in grade if g.item_id == item_id), None)
    if given is None or not released(sub.assignment, user):
        raise Refused(f"{item['name']} has no points for you yet")
    if any(r.item_id == item_id for r in crud.regrade_requests(
            session, assignment_id=sub.assignment_id, user_id=user.id)):
        raise Refused(f"you already asked for a regrade of {item['name']}")
    request = RegradeRequest(user_id=user.id, assignment_id=sub.assignment_id,
                             submission_id=sub.id, item_id=item_id,
                             reason=_text(reason, "a reason"), points_before=given.points)
    session.add(request)
    session.commit()
    return request


def answer(session: Session, user: User, request_id: int, *, points: float, text: str
           ) -> RegradeRequest:
    """A TA answers: the manual item's points become `points` (the rubric items applied stay,
    the adjustment makes up the difference) and the answer is kept with the request."""
    require_role(user, Role.TA)
    request = session.get(RegradeRequest, request_id)
    if request is None:
        raise NotFound("regrade request")
    sub = fetch.submission(session, request.submission_id)
    item = manual_item(sub.assignment.slug, request.item_id)
    if not 0 <= points <= item["max_points"]:
        raise Refused(f"{item['name']} is worth 0 to {item['max_points']:g} points")
    grade = next(g for g in crud.manual_grades(session, keys=[(sub.user_id, sub.assignment_id)])[
        sub.user_id, sub.assignment_id] if g.item_id == request.item_id)
    crud.set_manual_grade(session, submission=sub, item_id=request.item_id, points=points,
                          comment=grade.comment, grader=user)
    request.answer, request.points_after = _text(text, "an answer"), points
    request.answered_by_id, request.answered_at = user.id, utcnow()
    session.commit()
    return request


def queue(session: Session, user: User, slug: str) -> list[dict[str, Any]]:
    """The assignment's requests, waiting ones first (TAs)."""
    require_role(user, Role.TA)
    assignment = fetch.assignment(session, slug)
    return [_view(r, slug) for r in crud.regrade_requests(session, assignment_id=assignment.id)]


def of_student(session: Session, user: User, slug: str, owner: User) -> dict[str, dict]:
    """The student's requests per manual item (the student or staff)."""
    assignment = fetch.assignment(session, slug)
    if user.id != owner.id:
        require_role(user, Role.TA)
    return {r.item_id: _view(r, slug) for r in crud.regrade_requests(
        session, assignment_id=assignment.id, user_id=owner.id)}


def _view(r: RegradeRequest, slug: str) -> dict[str, Any]:
    return {"id": r.id, "login": r.user.login, "name": r.user.name,
            "submission_id": r.submission_id, "item": manual_item(slug, r.item_id),
            "reason": r.reason, "asked_at": r.created_at, "before": r.points_before,
            "answer": r.answer, "after": r.points_after, "answered_at": r.answered_at,
            "answered_by": r.answered_by.login if r.answered_by else ""}
