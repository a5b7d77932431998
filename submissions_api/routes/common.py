"""Small helpers the routes share."""

from __future__ import annotations

from sqlalchemy.orm import Session

from submissions_api import crud
from submissions_api.models import Assignment, Submission
from submissions_api.policy import final_score
from submissions_api.schemas import SubmissionOut
from submissions_api.security import not_found
from submissions_api.views import report_for


def assignment_or_404(session: Session, slug: str) -> Assignment:
    assignment = crud.get_assignment(session, slug=slug)
    if assignment is None:
        raise not_found("assignment")
    return assignment


def submission_out(session: Session, sub: Submission, *, staff: bool,
                   with_result: bool = False) -> SubmissionOut:
    result = None
    if with_result and sub.current_run_id is not None:
        run = crud.get_run(session, run_id=sub.current_run_id)
        result = report_for(run.report if run else None, staff=staff)
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
        final_score=final_score(sub.score, sub.late_penalty),
        max_score=sub.assignment.max_score, queue_position=crud.queue_position(
            session, submission=sub), counts_toward_limit=sub.counts_toward_limit,
        result=result, staff=extra)
