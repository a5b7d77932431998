"""What a student should know before and after an upload: whether it will be accepted, late (and
at what penalty) or refused, how many submissions are left, which submission counts, and each
submission's number among the student's own (#1, #2, ...)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from submissions_api.grades import COUNTING_POLICY, Entry, Policy, choose
from submissions_api.schemas import SubmissionOut
from submissions_api.services.policy import classify, course_time
from submissions_api.services.submissions import remaining, student_window
from submissions_api.store.models import Assignment, User, utcnow

__all__ = ["COUNTING_POLICY", "UploadContext", "counting_id", "numbers", "upload_context"]


@dataclass(frozen=True)
class UploadContext:
    """The upload box's state: `closed` (a sentence: why the box is disabled) or open, with a
    `warning` when the upload would be late."""

    closed: str
    warning: str
    remaining: int | None
    limit: int | None


def upload_context(session: Session, assignment: Assignment, user: User,
                   now: datetime | None = None, zone: str = "UTC") -> UploadContext:
    """Before an upload: the same window and limit the upload itself is held to (times in
    `zone`, the course's)."""
    now = now or utcnow()
    left = remaining(session, assignment, user)
    window = student_window(session, assignment, user)
    timing = classify(now, window)
    closed = warning = ""
    if not timing.accepted:
        last = window.late_deadline or window.deadline
        closed = (f"Submissions closed on {course_time(last, zone)}: uploads are no longer "
                  "accepted. Ask your TA if you need an extension.")
    elif left == 0:
        closed = (f"You have used all {assignment.submission_limit} of your submissions: "
                  "uploads are no longer accepted.")
    elif timing.late:
        warning = (f"The deadline has passed: this upload will be late, −{timing.penalty * 100:g} "
                   "% of its score.")
    return UploadContext(closed=closed, warning=warning, remaining=left,
                         limit=assignment.submission_limit)


def numbers(subs: Sequence[SubmissionOut]) -> dict[int, int]:
    """Each submission's number among the student's own (by id, 1: the first)."""
    return {s.id: n for n, s in enumerate(sorted(subs, key=lambda s: s.id), start=1)}


def counting_id(subs: Sequence[SubmissionOut], policy: Policy = COUNTING_POLICY) -> int | None:
    """The graded submission that counts for the student (best final score, or latest)."""
    entries = [Entry(s.login, "", s.id, s.received_at, s.status, s.score, s.late_penalty, s.late,
                     s.manual_score) for s in subs]
    chosen = choose(entries, policy)
    return chosen.submission_id if chosen else None

