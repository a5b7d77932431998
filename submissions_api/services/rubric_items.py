"""Rubric items of manual grading: a TA applies reusable items (points, a description, a key)
to a student's manual item and adds an adjustment; the points are the applied items' points
plus the adjustment, within 0 and the item's maximum. Editing or deleting an item re-scores
every student who has it (each student's LMS row moves on: crud.set_manual_grade, outbox).
Every write compares versions: a TA saving against an item or a grade another TA changed
meanwhile is refused with what changed, never overwrites it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grader.text import printable
from submissions_api.errors import Conflict, NotFound, Refused
from submissions_api.grades import manual_items
from submissions_api.schemas import MAX_COMMENT
from submissions_api.security import require_role
from submissions_api.services import fetch
from submissions_api.services.csvout import cell, number, write_csv
from submissions_api.store import crud
from submissions_api.store.models import Role, User, utcnow
from submissions_api.store.models_grading import Submission
from submissions_api.store.models_manual import ManualGrade
from submissions_api.store.models_rubric import RubricItem

MAX_DESCRIPTION = 300


def points_of(applied: float, adjustment: float, max_points: float) -> float:
    """A manual item's points: the applied rubric items and the adjustment, within 0 and max."""
    return round(min(max(applied + adjustment, 0.0), max_points), 2)


def manual_item(slug: str, item_id: str) -> dict:
    item = next((i for i in manual_items(slug) if i["id"] == item_id), None)
    if item is None:
        raise NotFound("manual item")
    return item


def items_view(session: Session, user: User, slug: str) -> dict[str, list[dict[str, Any]]]:
    """Each manual item's rubric items with how many students have each (TAs)."""
    require_role(user, Role.TA)
    assignment = fetch.assignment(session, slug)
    counts = crud.item_counts(session, assignment_id=assignment.id)
    out: dict[str, list[dict[str, Any]]] = {i["id"]: [] for i in manual_items(slug)}
    for r in crud.rubric_items(session, assignment_id=assignment.id):
        out.setdefault(r.item_id, []).append({
            "id": r.id, "points": r.points, "description": r.description, "key": r.key,
            "version": r.version, "count": counts.get(r.id, 0), "item_id": r.item_id})
    return out


def _checked(session: Session, slug: str, item_id: str, points: float, description: str,
             key: str, rubric_id: int | None = None) -> tuple[str, str]:
    """(description, key) cleaned, or Refused."""
    item = manual_item(slug, item_id)
    if abs(points) > item["max_points"]:
        raise Refused(f"a rubric item of {item['name']} is worth at most "
                      f"±{item['max_points']:g} points")
    description = printable(description).strip()
    if not description or len(description) > MAX_DESCRIPTION:
        raise Refused(f"a rubric item's description has 1 to {MAX_DESCRIPTION} characters")
    key = printable(key).strip()
    if len(key) > 1:
        raise Refused("a shortcut key is one character")
    assignment = fetch.assignment(session, slug)
    if key and any(r.key == key and r.id != rubric_id for r in crud.rubric_items(
            session, assignment_id=assignment.id, item_id=item_id)):
        raise Refused(f"the key “{key}” is taken by another rubric item")
    return description, key


def create_item(session: Session, user: User, slug: str, item_id: str, *, points: float,
                description: str, key: str) -> RubricItem:
    require_role(user, Role.TA)
    description, key = _checked(session, slug, item_id, points, description, key)
    item = RubricItem(assignment_id=fetch.assignment(session, slug).id, item_id=item_id,
                      points=points, description=description, key=key, changed_by_id=user.id)
    session.add(item)
    session.commit()
    return item


def _describe(item: RubricItem) -> str:
    who = f" by {item.changed_by.login}" if item.changed_by else ""
    return f"“{item.description}” ({item.points:+g}, key {item.key or 'none'}) changed{who}"


def edit_item(session: Session, user: User, rubric_id: int, *, seen_version: int,
              points: float, description: str, key: str) -> RubricItem:
    """Change an item (compared with the version the TA saw); new points re-score every
    student who has it."""
    require_role(user, Role.TA)
    item = _item(session, rubric_id)
    slug = _slug(session, item)
    description, key = _checked(session, slug, item.item_id, points, description, key, item.id)
    done = session.execute(update(RubricItem).where(
        RubricItem.id == rubric_id, RubricItem.version == seen_version).values(
        points=points, description=description, key=key, version=RubricItem.version + 1,
        changed_by_id=user.id, changed_at=utcnow()).execution_options(
        synchronize_session=False)).rowcount
    if not done:
        session.rollback()
        raise Conflict(f"not saved: {_describe(_item(session, rubric_id))} meanwhile; "
                       "look at it and edit again")
    session.expire(item)
    _rescore(session, user, slug, crud.grades_with(session, rubric_item_id=rubric_id))
    session.commit()
    return item


def delete_item(session: Session, user: User, rubric_id: int, *, seen_version: int) -> str:
    """Delete an item (compared with the version the TA saw), re-scoring every student who had
    it; the assignment's slug."""
    require_role(user, Role.TA)
    item = _item(session, rubric_id)
    slug = _slug(session, item)
    if item.version != seen_version:
        raise Conflict(f"not deleted: {_describe(item)} meanwhile; look at it and try again")
    grades = list(crud.grades_with(session, rubric_item_id=rubric_id))
    for grade in grades:
        crud.set_applied(session, grade=grade, rubric_item_ids=crud.applied(
            session, grade_ids=[grade.id]).get(grade.id, set()) - {rubric_id})
    session.delete(item)
    session.flush()
    _rescore(session, user, slug, grades)
    session.commit()
    return slug


def _changed(item: RubricItem | None) -> str:
    return _describe(item) + " meanwhile" if item else "a rubric item you ticked was deleted"


def _item(session: Session, rubric_id: int) -> RubricItem:
    item = session.get(RubricItem, rubric_id, populate_existing=True)
    if item is None:
        raise NotFound("rubric item (deleted meanwhile?)")
    return item


def _slug(session: Session, item: RubricItem) -> str:
    return fetch.assignment_by_id(session, item.assignment_id).slug


def _rescore(session: Session, user: User, slug: str, grades: Sequence[ManualGrade]) -> None:
    """The grades' points again from their items and adjustment (each student's LMS row moves
    on with the write)."""
    sums = crud.applied_points(session, grade_ids=[g.id for g in grades])
    for g in grades:
        sub = session.get(Submission, g.submission_id)
        points = points_of(sums.get(g.id, 0.0), g.adjustment, manual_item(slug, g.item_id)[
            "max_points"])
        crud.set_manual_grade(session, submission=sub, item_id=g.item_id, points=points,
                              comment=g.comment, grader=g.graded_by or user,
                              adjustment=g.adjustment)


def grade(session: Session, user: User, submission_id: int, item_id: str, *,
          applied: set[int], adjustment: float, comment: str, seen_items: dict[int, int],
          seen_version: int | None) -> Submission:
    """Apply rubric items and an adjustment to the student's manual item (TAs). `seen_items`
    (rubric item → version) and `seen_version` (the grade's, 0: none; None: not compared) are
    what the TA's page showed: anything changed since is told, not overwritten."""
    require_role(user, Role.TA)
    sub = fetch.submission(session, submission_id)
    item = manual_item(sub.assignment.slug, item_id)
    if len(comment) > MAX_COMMENT:
        raise Refused(f"the comment is longer than {MAX_COMMENT} characters")
    items = {r.id: r for r in session.scalars(select(RubricItem).where(
        RubricItem.assignment_id == sub.assignment_id, RubricItem.item_id == item_id)
        .with_for_update())}
    if any(r not in items and r not in seen_items for r in applied):
        raise NotFound(f"rubric item of {item['name']}")
    current = session.scalars(select(ManualGrade).where(
        ManualGrade.user_id == sub.user_id, ManualGrade.assignment_id == sub.assignment_id,
        ManualGrade.item_id == item_id).with_for_update()).first()
    had = crud.applied(session, grade_ids=[current.id]).get(current.id, set()) if current else set()
    changed = [_changed(items.get(r)) for r, v in seen_items.items() if r in applied | had
               and (r not in items or items[r].version != v)]
    changed += ["a rubric item you did not see was applied" for r in applied
                if r not in seen_items]
    if abs(adjustment) > item["max_points"]:
        raise Refused(f"{item['name']} is worth at most {item['max_points']:g} points")
    if seen_version is not None and (current.version if current else 0) != seen_version:
        who = current.graded_by.login if current and current.graded_by else "another TA"
        changed.append(f"{who} saved {sub.user.login}'s points meanwhile (now "
                       f"{current.points:g}/{item['max_points']:g})" if current else
                       f"{sub.user.login}'s points were removed meanwhile")
    if changed:
        raise Conflict("not saved: " + "; ".join(changed) + ". Check and save again.")
    total = sum(items[r].points for r in applied)  # each one seen, unchanged
    crud.set_manual_grade(session, submission=sub, item_id=item_id,
                          points=points_of(total, adjustment, item["max_points"]),
                          comment=printable(comment), grader=user, adjustment=adjustment,
                          applied=applied)
    session.commit()
    return sub


def grading_view(session: Session, user: User, sub: Submission) -> dict[str, dict[str, Any]]:
    """Per manual item, what the grading form shows of the student's grade: the rubric items
    (with their counts), those applied, the adjustment and the grade's version (TAs)."""
    items = items_view(session, user, sub.assignment.slug)
    grades = {g.item_id: g for g in crud.manual_grades(
        session, keys=[(sub.user_id, sub.assignment_id)])[sub.user_id, sub.assignment_id]}
    applied = crud.applied(session, grade_ids=[g.id for g in grades.values()])
    out = {}
    for item_id, rubric in items.items():
        g = grades.get(item_id)
        out[item_id] = {"rubric": rubric, "applied": applied.get(g.id, set()) if g else set(),
                        "adjustment": g.adjustment if g else 0.0,
                        "version": g.version if g else 0,
                        "graded_by": g.graded_by.login if g and g.graded_by else "",
                        "seen": ",".join(f"{r['id']}:{r['version']}" for r in rubric)}
    return out


def rubric_csv(session: Session, user: User, slug: str) -> str:
    """Every manual grade of the assignment: login, manual item, points, the rubric items
    applied, the adjustment and the comment (TAs; control characters removed, csvout)."""
    require_role(user, Role.TA)
    assignment = fetch.assignment(session, slug)
    described = {r.id: f"{r.description} ({r.points:+g})"
                 for r in crud.rubric_items(session, assignment_id=assignment.id)}
    grades = list(session.scalars(select(ManualGrade).where(
        ManualGrade.assignment_id == assignment.id).order_by(ManualGrade.id)))
    applied = crud.applied(session, grade_ids=[g.id for g in grades])
    logins = {u.id: u.login for u in crud.list_users(session)}
    rows = sorted([cell(logins.get(g.user_id, "")), cell(g.item_id), number(g.points),
                   cell("; ".join(described[r] for r in sorted(applied.get(g.id, set())))),
                   number(g.adjustment), cell(g.comment)] for g in grades)
    return write_csv(["login", "item", "points", "rubric_items", "adjustment", "comment"], rows)
