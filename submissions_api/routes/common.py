"""Small helpers the routes share."""

from __future__ import annotations

from sqlalchemy.orm import Session

from submissions_api.policy import final_score
from submissions_api.schemas import SubmissionOut
from submissions_api.security import not_found
from submissions_api.store import crud
from submissions_api.store.models import Assignment, Submission
from submissions_api.views import manual_view, report_for


def manual_items(slug: str) -> list[dict]:
    """The assignment's manual rubric items (id, name, max_points), from its rubric file."""
    from grader.rubric import load_assignment

    return [{"id": m.id, "name": m.name, "max_points": m.points}
            for m in load_assignment(slug).manual]


def total_max_score(assignment: Assignment) -> float:
    """Automatic tests plus manual items: what the gradebook's scores are out of."""
    return assignment.max_score + sum(i["max_points"] for i in manual_items(assignment.slug))


def assignment_or_404(session: Session, slug: str) -> Assignment:
    assignment = crud.get_assignment(session, slug=slug)
    if assignment is None:
        raise not_found("assignment")
    return assignment


def submission_out(session: Session, sub: Submission, *, staff: bool,
                   with_result: bool = False, grades: list | None = None) -> SubmissionOut:
    """A submission as its owner or staff see it; `grades` are its manual grades if the caller
    fetched them already (lists)."""
    result = training = None
    if with_result and sub.current_run_id is not None:
        run = crud.get_run(session, run_id=sub.current_run_id)
        result = report_for(run.report if run else None, staff=staff)
        training = run.training if run else None
    if grades is None:
        grades = crud.manual_grades(session, submission_ids=[sub.id])[sub.id]
    items = manual_items(sub.assignment.slug)
    manual = manual_view(items, grades)
    extra = None
    if staff:
        extra = {"attempts": sub.attempts, "infra_failures": sub.infra_failures,
                 "queue": sub.queue, "lease_owner": sub.lease_owner,
                 "lease_expires_at": sub.lease_expires_at, "error": sub.error,
                 "current_run_id": sub.current_run_id}
    return SubmissionOut(
        id=sub.id, assignment=sub.assignment.slug, login=sub.user.login, sha256=sub.blob_sha256,
        size=sub.size, received_at=sub.received_at, status=sub.status, late=sub.late,
        late_penalty=sub.late_penalty, score=sub.score,
        final_score=final_score(sub.score, sub.late_penalty, sub.manual_score),
        max_score=sub.assignment.max_score, manual_score=sub.manual_score,
        manual_max_score=sum(i["max_points"] for i in items), manual=manual,
        manual_pending=sub.status == "graded" and any(m["points"] is None for m in manual),
        run_id=sub.current_run_id, training=training, queue_position=crud.queue_position(
            session, submission=sub), counts_toward_limit=sub.counts_toward_limit,
        result=result, staff=extra)
