"""The AGS sender: each due outbox row (lms/outbox.py) sends the score that counts *now* (the
gradebook's choice, submissions_api/grades.py) to its resource link's line item, then records the
version it read; a change during the send is sent again at once. Run by the bulk worker (a task
after each change, and the reaper's periodic drain); plain functions over a session factory.

What the LMS is told (AGS score+json): the final score (automatic + manual points, after the late
penalty) out of the assignment's total maximum, `gradingProgress` PendingManual while a TA's manual
points wait and FullyGraded once none do; nothing before the assignment's release time; nothing
while a regrade of the student's graded submission runs (its result follows)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from joserfc.jwk import RSAKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from submissions_api.grades import COUNTING_POLICY, Entry, choose, read_entries, total_max_score
from submissions_api.lms import advantage, outbox
from submissions_api.lms.advantage import PlatformError, Registration
from submissions_api.lms.keys import signing_key
from submissions_api.store import crud
from submissions_api.store.models import Assignment, User
from submissions_api.store.models_grading import Status
from submissions_api.store.models_lms import LtiIdentity, LtiPlatform, LtiResourceLink, ScoreOutbox

log = logging.getLogger(__name__)
CLAIM_SECONDS = 120.0
"""A send's claim on its row: above the HTTP timeouts of a token, a line item and a score."""
REGRADE_WAIT = 30.0
"""A student whose graded submission is being regraded is looked at again after this (its
result moves the row on too)."""
MAX_TRANSIENT_DELAY = 3600.0
MAX_REFUSED_DELAY = 6 * 3600.0
REFUSED_FACTOR = 30
"""A platform's refusal (4xx) is retried this many times later than an outage."""


def registration(platform: LtiPlatform) -> Registration:
    return Registration(client_id=platform.client_id, token_url=platform.auth_token_url,
                        audience=platform.auth_audience or "")


@dataclass(frozen=True)
class Job:
    """One send, read in the claim's transaction: `score` None with `hold` None: nothing to tell
    the LMS (settled without a send); `hold`: not yet, due again at the time inside."""

    row_id: int
    version: int
    link_id: int
    reg: Registration
    key: RSAKey
    lineitem_url: str
    lineitems_url: str
    resource_link_id: str
    label: str
    slug: str
    maximum: float
    score: dict[str, Any] | None
    hold: tuple[datetime] | None = None


def drain(sessions: sessionmaker[Session], *, backoff: float, http: httpx.Client | None = None,
          batch: int = 200) -> dict[str, int]:
    """Send every row due now once (again when it changes during its send), `batch` ids read
    at a time; counts by outcome."""
    counts: dict[str, int] = {}
    own = http is None
    http = http or httpx.Client()
    try:
        last = 0
        while True:
            with sessions() as session:
                ids = outbox.due(session, now=crud.db_now(session), limit=batch, after=last)
            for row_id in ids:
                outcome = send_row(sessions, row_id, backoff=backoff, http=http)
                counts[outcome] = counts.get(outcome, 0) + 1
            if len(ids) < batch:
                break
            last = ids[-1]
    finally:
        if own:
            http.close()
    if counts.get("failed"):
        log.warning("score passback: %s", counts)
    return counts


def send_row(sessions: sessionmaker[Session], row_id: int, *, backoff: float,
             http: httpx.Client) -> str:
    """Claim one row and send its score; again while it changed during the send. Returns
    sent, nothing, held, failed or taken (another sender has it, or it is not due)."""
    outcome = "taken"
    for _ in range(5):
        with sessions() as session:
            now = crud.db_now(session)
            if not outbox.claim(session, row_id=row_id, now=now, seconds=CLAIM_SECONDS):
                session.rollback()
                return outcome
            session.commit()
            job = prepare(session, row_id, now)
            tries = session.scalar(select(ScoreOutbox.tries).where(ScoreOutbox.id == row_id))
        if job is None:
            return "gone"
        if job.hold is not None:
            with sessions() as session:
                outbox.release(session, row_id=row_id, at=job.hold[0])
                session.commit()
            return "held"
        try:
            if job.score is not None:
                _deliver(sessions, job, http)
        except PlatformError as exc:
            _failed(sessions, job, exc, tries or 0, backoff)
            return "failed"
        with sessions() as session:
            if job.score is None:
                outbox.settled(session, row_id=row_id, version=job.version)
            else:
                outbox.sent(session, row_id=row_id, version=job.version,
                            at=crud.db_now(session), score=job.score.get("scoreGiven"))
            session.commit()
            row = session.get(ScoreOutbox, row_id)
            if row is None or row.version <= row.sent_version:
                return "sent" if job.score is not None else "nothing"
        outcome = "sent"
    return outcome


def _deliver(sessions: sessionmaker[Session], job: Job, http: httpx.Client) -> None:
    lineitem = job.lineitem_url or _lineitem(sessions, job, http)
    advantage.post_score(http, job.reg, job.key, lineitem_url=lineitem, score=job.score or {})


def _lineitem(sessions: sessionmaker[Session], job: Job, http: httpx.Client) -> str:
    """The link's line item when the platform gave none: found or made in the context's
    container, stored on the link (the first stored wins when two senders race)."""
    if not job.lineitems_url:
        raise PlatformError("the platform gave this link no line item and its course no "
                            "line-items URL: enable Assignment and Grade Services for the tool "
                            "in the LMS, then launch the link again", transient=False)
    url = advantage.find_or_create_lineitem(
        http, job.reg, job.key, lineitems_url=job.lineitems_url,
        resource_link_id=job.resource_link_id, tag=f"mlpgrade:{job.slug}", label=job.label,
        score_maximum=job.maximum)
    with sessions() as session:
        session.execute(update(LtiResourceLink).where(LtiResourceLink.id == job.link_id,
                                                      LtiResourceLink.lineitem_url == "")
                        .values(lineitem_url=url))
        session.commit()
        return session.scalar(select(LtiResourceLink.lineitem_url)
                              .where(LtiResourceLink.id == job.link_id)) or url


def _failed(sessions: sessionmaker[Session], job: Job, exc: PlatformError, tries: int,
            backoff: float) -> None:
    with sessions() as session:
        now = crud.db_now(session)
        outbox.failed(session, row_id=job.row_id, error=exc.message,
                      retry_at=now + timedelta(seconds=retry_delay(exc, tries, backoff)))
        session.commit()
    log.info("score of row %s not sent: %s", job.row_id, exc.message)


def retry_delay(exc: PlatformError, tries: int, backoff: float) -> float:
    """Seconds until the next try: the platform's Retry-After, else exponential from `backoff`;
    much later when the platform refused (a 4xx: someone must look)."""
    delay = backoff * 2 ** min(tries, 20)
    if not exc.transient:
        return min(delay * REFUSED_FACTOR, MAX_REFUSED_DELAY)
    if exc.retry_after is not None:
        return min(max(exc.retry_after, backoff), MAX_REFUSED_DELAY)
    return min(delay, MAX_TRANSIENT_DELAY)


# -- what to send --------------------------------------------------------------------------------

def prepare(session: Session, row_id: int, now: datetime) -> Job | None:
    """The send of a claimed row, or None when the row is gone."""
    row = session.get(ScoreOutbox, row_id)
    link = session.get(LtiResourceLink, row.resource_link_pk) if row else None
    if row is None or link is None:
        return None
    platform = link.platform
    assignment = session.get(Assignment, link.assignment_id) if link.assignment_id else None
    user = session.get(User, row.user_id)
    sub = session.scalar(select(LtiIdentity.sub).where(LtiIdentity.issuer == platform.issuer,
                                                       LtiIdentity.user_id == row.user_id))
    common = {"row_id": row.id, "version": row.version, "link_id": link.id,
              "reg": registration(platform), "key": signing_key(session),
              "lineitem_url": link.lineitem_url,
              "lineitems_url": link.context.lineitems_url if link.context else "",
              "resource_link_id": link.resource_link_id}
    if assignment is None or user is None or sub is None or not user.active:
        # unbound since, or no longer in the course (the LMS refuses their scores)
        return Job(**common, label="", slug="", maximum=0.0, score=None)
    common.update(label=assignment.title or assignment.slug, slug=assignment.slug,
                  maximum=total_max_score(assignment))
    if assignment.release_at is not None and assignment.release_at > now:
        return Job(**common, score=None, hold=(assignment.release_at,))
    entries = read_entries(session, assignment, user.id).get(user.login, [])
    if any(e.status in (Status.QUEUED, Status.RUNNING) and e.raw_score is not None
           for e in entries):  # a regrade of a graded submission: its result follows
        return Job(**common, score=None, hold=(now + timedelta(seconds=REGRADE_WAIT),))
    score = score_json(sub, entries, maximum=common["maximum"], now=now,
                       closed=_closed(session, assignment, user, now),
                       sent_before=row.sent_at is not None)
    return Job(**common, score=score)


def score_json(user_id: str, entries: list[Entry], *, maximum: float, now: datetime,
               closed: bool, sent_before: bool) -> dict[str, Any] | None:
    """AGS's score of a student (application/vnd.ims.lis.v1.score+json), or None when there is
    nothing to tell (no graded submission, and nothing told before)."""
    chosen = choose(entries, COUNTING_POLICY)
    stamp = {"userId": user_id, "timestamp": now.isoformat(timespec="microseconds")}
    if chosen is not None:
        return {**stamp, "scoreGiven": chosen.final, "scoreMaximum": maximum,
                "activityProgress": "Completed" if closed else "Submitted",
                "gradingProgress": "PendingManual" if chosen.manual_pending else "FullyGraded"}
    submitted = [e for e in entries if e.submission_id is not None]
    if not submitted and not sent_before:
        return None
    waiting = any(e.status in (Status.QUEUED, Status.RUNNING) for e in submitted)
    return {**stamp, "activityProgress": "Submitted" if submitted else "Initialized",
            "gradingProgress": "Pending" if waiting else "Failed" if submitted else "NotReady"}


def _closed(session: Session, assignment: Assignment, user: User, now: datetime) -> bool:
    """Whether the student can submit no more (their last deadline, extension included, has
    passed): the LMS is told Completed rather than Submitted."""
    ext = crud.get_extension(session, assignment=assignment, user=user)
    last = (ext.late_deadline or ext.deadline) if ext else (assignment.late_deadline
                                                            or assignment.deadline)
    return last is not None and last < now
