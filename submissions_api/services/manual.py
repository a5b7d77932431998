"""Manual rubric items: a TA's points and comment, which the final score then includes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from submissions_api.errors import NotFound, Refused
from submissions_api.schemas import MAX_COMMENT
from submissions_api.security import require_role
from submissions_api.services import fetch
from submissions_api.services.rubric import manual_items
from submissions_api.store import crud
from submissions_api.store.models import Role, Submission, User


def set_manual_grade(session: Session, user: User, submission_id: int, item_id: str, *,
                     points: float, comment: str) -> Submission:
    """Record the points (0 to the item's maximum) and a comment for a manual item, e.g. the
    training statistics (TAs). Recording again replaces the points; regrades keep them."""
    require_role(user, Role.TA)
    sub = fetch.submission(session, submission_id)
    item = next((i for i in manual_items(sub.assignment.slug) if i["id"] == item_id), None)
    if item is None:
        raise NotFound("manual item")
    if len(comment) > MAX_COMMENT:
        raise Refused(f"the comment is longer than {MAX_COMMENT} characters")
    if points > item["max_points"]:
        raise Refused(f"{item['name']} is worth at most {item['max_points']:g} points")
    crud.set_manual_grade(session, submission=sub, item_id=item_id, points=points,
                          comment=comment, grader=user)
    session.commit()
    return sub
