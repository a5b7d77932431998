"""Regrades on the low-priority queue, with progress and a before/after diff per submission."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from submissions_api.jobs import Dispatcher
from submissions_api.schemas import RegradeOut
from submissions_api.security import require_role
from submissions_api.services import fetch
from submissions_api.services.reports import read_report, test_diff
from submissions_api.store import crud, lifecycle
from submissions_api.store.models import Assignment, Role, User
from submissions_api.store.models_grading import ItemStatus, QueueKind, Regrade, Submission


def regrade_view(session: Session, regrade: Regrade) -> RegradeOut:
    """A regrade's progress; each changed item carries the tests whose points changed."""
    items, counts = [], {s.value: 0 for s in (ItemStatus.DONE, ItemStatus.FAILED,
                                              ItemStatus.SKIPPED, ItemStatus.PENDING)}
    changed = 0
    for item, owner in crud.regrade_items(session, regrade=regrade):
        counts[item.status] = counts.get(item.status, 0) + 1
        entry = {"submission_id": item.submission_id, "login": owner.login,
                 "status": item.status, "before": item.before_score, "after": item.after_score,
                 "note": item.note, "tests": []}
        if item.status == ItemStatus.DONE and item.before_score != item.after_score:
            changed += 1
            before = crud.get_run(session, run_id=item.before_run_id)
            after = crud.get_run(session, run_id=item.after_run_id)
            entry["tests"] = test_diff(read_report(before), read_report(after))
        items.append(entry)
    assignment = crud.get_assignment_by_id(session, assignment_id=regrade.assignment_id)
    return RegradeOut(id=regrade.id, assignment=assignment.slug, scope=regrade.scope,
                      created_at=regrade.created_at, total=len(items), changed=changed,
                      finished=counts[ItemStatus.PENDING] == 0, items=items, **counts)


def _start(session: Session, dispatcher: Dispatcher, user: User, assignment: Assignment,
           scope: str, subs: Sequence[Submission]) -> RegradeOut:
    regrade, to_send = lifecycle.create_regrade(session, assignment=assignment, scope=scope,
                                                requested_by=user, submissions=subs)
    session.commit()  # the attempts exist before their messages do
    for submission_id, attempt in to_send:
        dispatcher.send_grade(submission_id, attempt, kind=QueueKind.BULK)
    return regrade_view(session, regrade)


def regrade_one(session: Session, dispatcher: Dispatcher, user: User, submission_id: int
                ) -> RegradeOut:
    """Regrade one submission (TAs)."""
    sub = fetch.submission(session, submission_id)
    require_role(user, Role.TA)
    return _start(session, dispatcher, user, sub.assignment, "one", [sub])


def regrade_assignment(session: Session, dispatcher: Dispatcher, user: User, slug: str, *,
                       latest_only: bool) -> RegradeOut:
    """Regrade each student's latest submission (latest_only) or every submission (TAs)."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.TA)
    subs = crud.regrade_candidates(session, assignment=assignment, latest_only=latest_only)
    return _start(session, dispatcher, user, assignment, "latest" if latest_only else "all", subs)


def failed_ours(session: Session, user: User) -> Sequence[Submission]:
    """The submissions that ended failed through our fault (TAs): the queue page lists them."""
    require_role(user, Role.TA)
    return crud.failed_ours(session)


def regrade_chosen(session: Session, dispatcher: Dispatcher, user: User, ids: Sequence[int]
                   ) -> list[RegradeOut]:
    """Regrade the chosen submissions (TAs; one regrade per assignment): the queue page's
    button for those that failed through our fault."""
    require_role(user, Role.TA)
    by_assignment: dict[int, list[Submission]] = {}
    for submission_id in sorted(set(ids)):
        sub = fetch.submission(session, submission_id)
        by_assignment.setdefault(sub.assignment_id, []).append(sub)
    return [_start(session, dispatcher, user, subs[0].assignment, "chosen", subs)
            for subs in by_assignment.values()]


def get_regrade(session: Session, user: User, regrade_id: int) -> RegradeOut:
    regrade = fetch.regrade(session, regrade_id)
    require_role(user, Role.TA)
    return regrade_view(session, regrade)
