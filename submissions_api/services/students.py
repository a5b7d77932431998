"""A page per student for staff: per assignment the score that counts (and its submission), the
manual points and where they were given, the extension; and their submission history, paged,
with the runs of each."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from submissions_api.grades import manual_items, manual_max_score, total_max_score
from submissions_api.security import require_role
from submissions_api.services import fetch, gradebook
from submissions_api.services import submissions as subs_service
from submissions_api.store import crud
from submissions_api.store.models import Role, User

PER_PAGE = 20


def student_overview(session: Session, user: User, login: str, *, assignment: str | None = None,
                     page: int = 1, per_page: int = PER_PAGE) -> dict[str, Any]:
    """Everything staff need about one student (TAs)."""
    require_role(user, Role.TA)
    target = fetch.user(session, login)
    chosen = [fetch.assignment(session, assignment)] if assignment else \
        list(crud.list_assignments(session))
    page, per_page = max(page, 1), min(max(per_page, 1), 100)
    rows = crud.list_submissions(session, user_id=target.id,
                                 assignment_id=chosen[0].id if assignment else None,
                                 limit=per_page + 1, offset=(page - 1) * per_page)
    views = subs_service.submission_views(session, rows[:per_page], staff=True)
    runs = {v.id: list(crud.list_runs(session, submission_id=v.id)) for v in views}
    return {"student": target, "assignments": [_standing(session, a, target) for a in chosen],
            "submissions": views, "runs": runs, "page": page,
            "has_next": len(rows) > per_page, "filter": assignment or ""}


def _standing(session: Session, assignment, target: User) -> dict[str, Any]:
    entries = gradebook.class_entries(session, assignment, target.id).get(target.login, [])
    best = gradebook.choose(entries, "best")
    key = (target.id, assignment.id)
    grades = {g.item_id: g for g in crud.manual_grades(session, keys=[key])[key]}
    manual = [{"name": i["name"], "max_points": i["max_points"],
               "points": grades[i["id"]].points if i["id"] in grades else None,
               "comment": grades[i["id"]].comment if i["id"] in grades else "",
               "given_on": grades[i["id"]].submission_id if i["id"] in grades else None}
              for i in manual_items(assignment.slug)]
    best_text = gradebook.entry_line(best, assignment.max_score,
                                     manual_max_score(assignment.slug)).text \
        if best else ""
    return {"assignment": assignment, "best": best, "best_text": best_text,
            "max_score": total_max_score(assignment),
            "count": sum(1 for e in entries if e.submission_id is not None), "manual": manual,
            "extension": crud.get_extension(session, assignment=assignment, user=target)}
