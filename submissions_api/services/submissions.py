"""Submissions: accept an upload (the student's window, limit and cooldown), a submission as a
role sees it, the lists, and what hangs off a submission (hand-in bytes, runs, plots)."""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from grader.errors import SubmissionError
from grader.intake import check_handin
from grader.tarread import how_to_make, too_big
from submissions_api.errors import Forbidden, NotFound, Refused
from submissions_api.grades import manual_items, manual_max_score
from submissions_api.jobs import Dispatcher
from submissions_api.schemas import SubmissionAccepted, SubmissionOut
from submissions_api.security import is_staff, require_owner_or_staff, require_role
from submissions_api.services import changes, fetch
from submissions_api.services.estimates import Estimate, live_line, measure, queue_wait
from submissions_api.services.feedback import with_causes
from submissions_api.services.hints import hints_for_run
from submissions_api.services.policy import Window, classify, limit_refusal, window_for
from submissions_api.services.reports import manual_view, read_report, report_for
from submissions_api.services.rubric import handin_layout
from submissions_api.services.scores import score_line
from submissions_api.services.visibility import released, visible
from submissions_api.store import crud
from submissions_api.store.models import Assignment, Role, User
from submissions_api.store.models_grading import GradingRun, QueueKind, Status, Submission
from submissions_api.store.models_manual import ManualGrade
from submissions_api.store.summary import run_summary

LIVE = (Status.QUEUED, Status.RUNNING)


def read_upload(stream: BinaryIO, max_bytes: int, assignment: Assignment) -> bytes:
    """The uploaded bytes, refused at the door (nothing is stored yet): 413 when larger than
    `max_bytes` (the service's one size limit, also the grader's), saying in MB what to leave
    out (read from the archive's headers); 422 when empty."""
    layout = handin_layout(assignment.slug)
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        try:  # the server has the whole upload spooled: its size costs a seek
            size = max(stream.seek(0, os.SEEK_END), len(data))
        except (OSError, ValueError):
            size = len(data)
        raise Refused(too_big(data, size, max_bytes, layout), status=413)
    if not data:
        raise Refused(f"The upload is empty. {how_to_make(layout)}")
    return data


def student_window(session: Session, assignment: Assignment, user: User) -> Window:
    """When this student may submit: the assignment's deadlines, moved by an extension."""
    ext = crud.get_extension(session, assignment=assignment, user=user)
    return window_for(deadline=assignment.deadline, late_deadline=assignment.late_deadline,
                      penalty=assignment.late_penalty,
                      extension_deadline=ext.deadline if ext else None,
                      extension_late_deadline=ext.late_deadline if ext else None)


def refuse_at_door(assignment: Assignment, data: bytes, max_bytes: int) -> None:
    """Refuse (422, the reason a student reads) an upload the grader's intake would refuse: not
    a tar, damaged, unpacking too big, none of the graded files. Nothing is stored, so the
    attempt counts toward neither the limit nor the cooldown."""
    try:
        check_handin(data, layout=handin_layout(assignment.slug), max_bytes=max_bytes)
    except SubmissionError as exc:
        raise Refused(str(exc), status=422) from None


def accept_upload(session: Session, dispatcher: Dispatcher, *, user: User,
                  assignment: Assignment, data: bytes, filename: str,
                  idempotency_key: str | None = None) -> SubmissionAccepted:
    """Store a hand-in and queue its grading. Refused at the door (422) when intake would
    refuse it; students are held to the deadline (403), the submission limit and the cooldown
    (429), on the database's clock (the same for every API process); staff are not. Committed
    before it is sent; once committed, the answer is the receipt, whatever fails after.

    A client's retry is the same upload (`repeated_upload`): its receipt is the first
    submission's, before any limit or cooldown (which the first one started) is checked."""
    refuse_at_door(assignment, data, dispatcher.settings.upload_max_bytes)
    key = _idempotency_key(idempotency_key)
    late, penalty = False, 0.0
    now = crud.db_now(session)
    if not visible(assignment, user, now):
        raise NotFound("assignment")  # a hidden or scheduled one: as if it did not exist
    crud.lock_user(session, user=user)  # one user's uploads in order (and their retries)
    now = crud.db_now(session)
    first = repeated_upload(session, user=user, assignment=assignment, data=data, key=key,
                            now=now, window=dispatcher.settings.duplicate_window)
    if first is not None:
        session.rollback()
        return _receipt(session, first, now)
    if not is_staff(user):
        timing = classify(now, student_window(session, assignment, user))
        if not timing.accepted:
            raise Refused(timing.reason, status=403)
        counted, last = crud.counted_submissions(session, assignment=assignment, user=user)
        refusal = limit_refusal(counted=counted, last_received=last,
                                limit=assignment.submission_limit,
                                cooldown_seconds=assignment.cooldown_seconds, now=now)
        if refusal:
            message, wait = refusal
            raise Refused(message, status=429, retry_after=wait or None)
        late, penalty = timing.late, timing.penalty
    sub = crud.create_submission(session, user=user, assignment=assignment, data=data,
                                 filename=filename or "handin.tar", received_at=now,
                                 late=late, penalty=penalty, idempotency_key=key)
    session.commit()  # durable before we answer or enqueue
    dispatcher.send_grade(sub.id, sub.attempts)
    return _receipt(session, sub, now)


MAX_KEY = 100


def _idempotency_key(key: str | None) -> str | None:
    key = (key or "").strip()
    if len(key) > MAX_KEY:
        raise Refused(f"the Idempotency-Key header has {len(key)} characters; at most "
                      f"{MAX_KEY} are kept (a UUID is 36)", status=422)
    return key or None


def repeated_upload(session: Session, *, user: User, assignment: Assignment, data: bytes,
                    key: str | None, now: datetime, window: float) -> Submission | None:
    """The submission this upload repeats, if any (docs/service.md, "Uploading twice"): the
    user's upload with the same Idempotency-Key, or, with or without a key, the same bytes
    from the same user to the same assignment less than `window` seconds ago. A client that
    lost the answer to an upload the service committed, and sent it again, gets the first
    submission back, not a second one that counts toward the limit. A `window` of 0 turns
    the bytes rule off."""
    sha = hashlib.sha256(data).hexdigest()
    first = crud.same_upload(session, user=user, assignment=assignment, key=key, sha256=sha,
                             since=now - timedelta(seconds=window) if window > 0 else None)
    if first is not None and (first.assignment_id, first.blob_sha256) != (assignment.id, sha):
        raise Refused("this Idempotency-Key was sent before with another file or assignment; "
                      "send a new key with each new upload", status=422)
    return first


def _receipt(session: Session, sub: Submission, now: datetime) -> SubmissionAccepted:
    return SubmissionAccepted(
        id=sub.id, sha256=sub.blob_sha256, size=sub.size, status=sub.status,
        server_time=now, received_at=sub.received_at, late=sub.late,
        late_penalty=sub.late_penalty, queue_position=_position_if_known(session, sub))


def _position_if_known(session: Session, sub: Submission) -> int | None:
    """The queue place for a receipt, best effort: the submission is committed, so a database
    that drops now must not turn the receipt into "nothing was accepted" (the client would
    upload again, and the student's second copy would count)."""
    try:
        return queue_positions(session, [sub])[sub.id]
    except SQLAlchemyError:
        session.rollback()
        return None


def queue_positions(session: Session, subs: Sequence[Submission]) -> dict[int, int]:
    """Each submission's place in its queue (1: next; 0: not queued), in one query."""
    return crud.queue_positions(session, submissions=subs)


def submission_view(session: Session, sub: Submission, *, staff: bool, with_result: bool = False,
                    grades: Sequence[ManualGrade] | None = None,
                    position: int | None = None, reader: User | None = None) -> SubmissionOut:
    """A submission as its owner (`staff` False) or staff see it; `with_result` adds the current
    run's report, its failures grouped by cause (services/feedback.with_causes) and the hints of
    its failure clusters (services/hints.py; with `reader`, the owner reading their result page,
    they count as having reached them). `grades` and `position`: when the caller read them
    already for a whole list."""
    result = training = None
    if with_result and sub.current_run_id is not None:
        run = crud.get_run(session, run_id=sub.current_run_id)
        report = read_report(run)
        result = with_causes(sub.assignment.slug, report_for(report, staff=staff))
        training = run.training if run else None
        if result is not None and run is not None:
            shown = reader if reader is not None and released(sub.assignment, sub.user) else None
            summary = run.summary or (report and run_summary(report)) or {}
            result["hints"] = hints_for_run(session, sub.assignment, summary, shown)
    if grades is None:
        key = (sub.user_id, sub.assignment_id)
        grades = crud.manual_grades(session, keys=[key])[key]
    if position is None:
        position = queue_positions(session, [sub])[sub.id]
    slug = sub.assignment.slug
    manual = manual_view(manual_items(slug), grades)
    manual_score = sum(g.points for g in grades) if grades else None
    extra = None
    if staff:
        extra = {"attempts": sub.attempts, "infra_failures": sub.infra_failures,
                 "queue": sub.queue, "lease_owner": sub.lease_owner,
                 "lease_expires_at": sub.lease_expires_at, "error": sub.error,
                 "current_run_id": sub.current_run_id}
    pending = sub.status == Status.GRADED and any(m["points"] is None for m in manual)
    line = score_line(score=sub.score, max_score=sub.assignment.max_score,
                      manual_score=manual_score, manual_max_score=manual_max_score(slug),
                      late_penalty=sub.late_penalty, manual_pending=pending)
    out = SubmissionOut(
        id=sub.id, assignment=slug, login=sub.user.login, sha256=sub.blob_sha256,
        size=sub.size, received_at=sub.received_at, status=sub.status, late=sub.late,
        late_penalty=sub.late_penalty, score=sub.score,
        final_score=line.total, max_score=sub.assignment.max_score,
        manual_score=manual_score, manual_max_score=line.manual_max, manual=manual,
        manual_pending=pending, score_text=line.text,
        run_id=sub.current_run_id, training=training, queue_position=position,
        counts_toward_limit=sub.counts_toward_limit, result=result, staff=extra)
    return out if staff or released(sub.assignment, sub.user) else held_back(out, sub.assignment)


def held_back(out: SubmissionOut, assignment: Assignment) -> SubmissionOut:
    """A student's view before the assignment's scores are released: that it was received and
    graded, and when scores and feedback come; no score, report or manual points."""
    when = assignment.release_at.strftime("%Y-%m-%d %H:%M UTC") if assignment.release_at else ""
    done = "graded" if out.status == Status.GRADED else out.status
    return out.model_copy(update={
        "score": None, "final_score": None, "manual_score": None, "manual": [],
        "manual_pending": False, "result": None, "training": None, "run_id": None,
        "released": False,
        "score_text": f"{done}; scores and feedback are released on {when}"})


def submission_views(session: Session, subs: Sequence[Submission], *, staff: bool
                     ) -> list[SubmissionOut]:
    """Views of a list: manual grades and queue places read once for the whole list."""
    grades = crud.manual_grades(session, keys=[(s.user_id, s.assignment_id) for s in subs])
    positions = queue_positions(session, subs)
    return [submission_view(session, s, staff=staff, grades=grades[s.user_id, s.assignment_id],
                            position=positions[s.id]) for s in subs]


def list_submissions(session: Session, user: User, *, assignment: str | None = None,
                     login: str | None = None, status: str | None = None, limit: int = 100,
                     offset: int = 0) -> list[SubmissionOut]:
    """Students see their own submissions; staff see all, filtered by assignment, login, status."""
    assignment_id = fetch.assignment(session, assignment).id if assignment else None
    staff = is_staff(user)
    user_id: int | None = user.id
    if staff:
        user_id = fetch.user(session, login).id if login else None
    elif login and login != user.login:
        raise Forbidden("students see only their own submissions")
    rows = crud.list_submissions(session, assignment_id=assignment_id, user_id=user_id,
                                 status=status, limit=min(limit, 1000), offset=offset)
    return submission_views(session, rows, staff=staff)


def own_submission(session: Session, user: User, submission_id: int) -> Submission:
    """The submission, for its owner or staff."""
    sub = fetch.submission(session, submission_id)
    require_owner_or_staff(user, sub.user_id)
    return sub


def get_submission(session: Session, user: User, submission_id: int) -> SubmissionOut:
    """One submission with its current result (per-test feedback; details for staff only)."""
    sub = own_submission(session, user, submission_id)
    return submission_view(session, sub, staff=is_staff(user), with_result=True)


def handin(session: Session, user: User, submission_id: int) -> tuple[Submission, bytes]:
    """The stored handin.tar, for its owner or staff."""
    sub = own_submission(session, user, submission_id)
    return sub, crud.get_blob(session, sha256=sub.blob_sha256) or b""


def runs(session: Session, user: User, submission_id: int) -> list[GradingRun]:
    """Every grading of a submission (staff): regrades keep history."""
    sub = fetch.submission(session, submission_id)
    require_role(user, Role.TA)
    return list(crud.list_runs(session, submission_id=sub.id))


def plot(session: Session, user: User, run_id: int, name: str) -> bytes:
    """A training plot (PNG) of a grading run, for the submission's owner and staff."""
    run = fetch.run(session, run_id)
    sub = fetch.submission(session, run.submission_id)
    require_owner_or_staff(user, sub.user_id)
    sha = (run.artifacts or {}).get(name)
    if sha is None:
        raise NotFound("plot")
    return crud.get_blob(session, sha256=sha) or b""


def remaining(session: Session, assignment: Assignment, user: User) -> int | None:
    """Submissions the student has left (None: no limit)."""
    if assignment.submission_limit is None:
        return None
    counted, _ = crud.counted_submissions(session, assignment=assignment, user=user)
    return max(assignment.submission_limit - counted, 0)


def wait_estimate(session: Session, position: int, queue: str = QueueKind.LIVE
                  ) -> Estimate | None:
    """Seconds until a submission at `position` of `queue` is graded, with a range, from the
    measured recent gradings, the slots and the gradings under way (estimates.py)."""
    if position <= 0:
        return None
    now = crud.db_now(session)
    running = crud.running_since(session, queue=queue)
    runs = crud.recent_live_runs(session)
    elapsed = [max((now - t).total_seconds(), 0.0) for t in running]
    claims = [started for _, started, _ in runs] + running
    return queue_wait(position, measured=measure(runs, running=len(running)),
                      running_elapsed=elapsed,
                      last_claim_ago=(now - max(claims)).total_seconds() if claims else None)


def live_status(session: Session, user: User, submission_id: int) -> dict[str, Any]:
    """What a page's live status line polls while a submission is queued or running: its place
    and wait, or, while graded, how long it has run, the typical time and which test runs."""
    sub = own_submission(session, user, submission_id)
    out = submission_view(session, sub, staff=False)
    run = crud.get_run(session, run_id=sub.current_run_id)
    training = run.training if run else None
    status = {"id": out.id, "status": out.status, "training": training,
              "state": changes.state(out.status, training),
              "queue_position": out.queue_position,
              **_wait_fields(wait_estimate(session, out.queue_position, sub.queue)),
              "score": out.score, "final_score": out.final_score, "max_score": out.max_score,
              "score_text": out.score_text}
    status["line"] = live_line(status, running=running_view(session, sub))
    return status


def _wait_fields(estimate: Estimate | None) -> dict[str, int | None]:
    """wait_seconds (the likeliest) and wait_low/wait_high, whole seconds; None unknown."""
    if estimate is None:
        return {"wait_seconds": None, "wait_low": None, "wait_high": None}
    return {"wait_seconds": math.ceil(estimate.seconds), "wait_low": math.floor(estimate.low),
            "wait_high": math.ceil(estimate.high)}


def running_view(session: Session, sub: Submission) -> dict[str, Any] | None:
    """How far the grading of a running submission is (None unless it is running)."""
    if sub.status != Status.RUNNING or sub.started_at is None:
        return None
    return {"elapsed": max(int((crud.db_now(session) - sub.started_at).total_seconds()), 0),
            "typical": crud.recent_grading_seconds(session), "progress": sub.progress,
            "golden_ready": sub.assignment.active_golden_id is not None}
