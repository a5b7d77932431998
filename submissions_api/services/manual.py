"""Manual rubric items: a TA's points and comment (belonging to the student's assignment, counted
with the submission that counts), the queue of students still waiting, reusable comments and a
bulk zero for hand-ins whose training never ran."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from submissions_api.errors import NotFound, Refused
from submissions_api.grades import manual_items
from submissions_api.schemas import MAX_COMMENT
from submissions_api.security import require_role
from submissions_api.services import fetch, gradebook
from submissions_api.services.reports import read_report
from submissions_api.store import crud, rubrics
from submissions_api.store.models import Role, User
from submissions_api.store.models_grading import Submission


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


# -- grading a class: the queue of what waits, reusable comments, bulk zero -----------------------

NEVER_RAN = "ran"
"""The training evidence's check that fails when the hand-in's get_training_stats did not
complete (grader.training.evidence)."""


def waiting(session: Session, user: User, slug: str) -> list[int]:
    """The submissions that count (best) of the students still waiting for manual points, by
    login: the TAs' manual-grading queue (TAs)."""
    require_role(user, Role.TA)
    assignment = fetch.assignment(session, slug)
    out = []
    for entries in gradebook.class_entries(session, assignment).values():  # sorted by login
        chosen = gradebook.choose(entries, "best")
        if chosen is not None and chosen.manual_pending:
            out.append(chosen.submission_id)
    return out


def next_ungraded(session: Session, user: User, slug: str, after: int | None = None
                  ) -> tuple[int | None, int]:
    """(the next submission in the queue after `after` (wrapping), how many wait)."""
    queue = [s for s in waiting(session, user, slug) if s != after]
    if not queue:
        return None, 0
    if after is not None:
        later = [s for s in queue if s > after]
        return (later or queue)[0], len(queue)
    return queue[0], len(queue)


def bulk_zero_untrained(session: Session, user: User, slug: str, *, comment: str) -> int:
    """Give 0 for the training item to every waiting student whose counted hand-in's training
    never ran (its get_training_stats did not complete); how many (TAs)."""
    require_role(user, Role.TA)
    item = next((i for i in manual_items(slug) if i["id"] == _training_item(slug)), None)
    if item is None:
        raise NotFound("training item")
    count = 0
    for sub_id in waiting(session, user, slug):
        sub = fetch.submission(session, sub_id)
        report = read_report(crud.get_run(session, run_id=sub.current_run_id))
        evidence = next((m.evidence for m in report.manual if m.id == item["id"]),
                        {}) if report else {}
        if any(c.get("name") == NEVER_RAN and not c.get("passed")
               for c in evidence.get("checks", [])):
            crud.set_manual_grade(session, submission=sub, item_id=item["id"], points=0.0,
                                  comment=comment[:MAX_COMMENT], grader=user)
            count += 1
    session.commit()
    return count


def _training_item(slug: str) -> str | None:
    return rubrics.assignment(slug).training_id


def saved_comments(session: Session, user: User, slug: str) -> dict[str, list[Any]]:
    """Reusable comments of the assignment, per manual item (TAs)."""
    require_role(user, Role.TA)
    out: dict[str, list[Any]] = {}
    for c in crud.saved_comments(session, assignment=fetch.assignment(session, slug)):
        out.setdefault(c.item_id, []).append(c)
    return out


def save_comment(session: Session, user: User, slug: str, item_id: str, text: str) -> None:
    """Keep a comment for reuse on an item of the assignment (TAs)."""
    require_role(user, Role.TA)
    assignment = fetch.assignment(session, slug)
    if not any(i["id"] == item_id for i in manual_items(slug)):
        raise NotFound("manual item")
    text = text.strip()
    if not text or len(text) > MAX_COMMENT:
        raise Refused(f"a saved comment has 1 to {MAX_COMMENT} characters")
    crud.save_comment(session, assignment=assignment, item_id=item_id, text=text, author=user)
    session.commit()


def delete_comment(session: Session, user: User, slug: str, comment_id: int) -> None:
    require_role(user, Role.TA)
    if not crud.delete_comment(session, assignment=fetch.assignment(session, slug),
                               comment_id=comment_id):
        raise NotFound("saved comment")
    session.commit()
