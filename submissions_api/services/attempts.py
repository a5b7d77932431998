"""What a student works from and between: the assignment's handout (our starter code and
create_tarball.sh, as `mlpgrade handout` writes it) and what changed between two of their own
submissions (the diff staff see on a submission's page, under the student's rules: their own
submissions only, of one assignment)."""

from __future__ import annotations

from functools import cache

from sqlalchemy.orm import Session

from grader.handout import handout_tar
from submissions_api.errors import Refused
from submissions_api.services import sources
from submissions_api.services.submissions import own_submission
from submissions_api.services.visibility import visible_assignment
from submissions_api.store import rubrics
from submissions_api.store.models import User
from submissions_api.store.models_grading import Submission


@cache
def handout(slug: str) -> bytes:
    """The handout tar of an assignment (its files are part of the code: made once)."""
    return handout_tar(rubrics.assignment(slug), folder=f"{slug}-handout")


def student_handout(session: Session, user: User, slug: str) -> bytes:
    """The handout, for anyone who sees the assignment."""
    return handout(visible_assignment(session, slug, user).slug)


def compare_own(session: Session, user: User, before_id: int, after_id: int, *,
                max_bytes: int | None = None
                ) -> tuple[Submission, Submission, list[sources.FileChange]]:
    """Two submissions of one student and one assignment (the student's own, or any for
    staff), and what changed in their Python files; 404/403 as for each submission alone."""
    before = own_submission(session, user, before_id)
    after = own_submission(session, user, after_id)
    if before.user_id != after.user_id or before.assignment_id != after.assignment_id:
        raise Refused("these two submissions are not of one student and one assignment",
                      status=422)
    return before, after, sources.compare_submissions(session, before, after,
                                                      max_bytes=max_bytes)
