"""The AGS outbox: a student's score changed, so the score that counts must reach the LMS.

Every change of a score (a graded or failed attempt, a regrade, manual points, an extension, an
assignment's settings) calls `touch` in the transaction that makes it: the student's row per
resource link bound to the assignment moves its `version` on. The sender (lms/passback.py, on the
bulk worker) sends the score that counts *at the time it sends* and records the version it read,
so a change during a send is sent again; one row per student carries only the latest, so nothing
is ever sent out of order. After a commit that touched rows, the process's dispatcher is asked to
send them (`notify_after_commit`); the reaper's periodic drain catches a lost message.

    row    version > sent_version: pending   (next_try_at: due then; also a send's claim)
           tries > 0: the last send failed (last_error: the platform's answer)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, case, event, func, or_, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from submissions_api.store.models import Role, User, utcnow
from submissions_api.store.models_lms import LtiIdentity, LtiPlatform, LtiResourceLink, ScoreOutbox

log = logging.getLogger(__name__)
_TOUCHED = "mlpgrade_lti_touched"
HOLD_HORIZON = 600.0
"""Above any send's claim (lms/passback.py CLAIM_SECONDS) and the hosts' clock drift."""
_notify: dict[str, Callable[[], object]] = {}
_guard = threading.Lock()


def touch(session: Session, assignment_id: int, user_ids: Iterable[int] | None = None) -> int:
    """The scores of these students (None: every student with an identity of the link's
    platform) may have changed: move their rows on, in the caller's transaction. How many rows;
    one cheap query when the assignment has no LMS link."""
    links = session.execute(select(LtiResourceLink.id, LtiResourceLink.platform_id).where(
        LtiResourceLink.assignment_id == assignment_id)).all()
    if not links:
        return 0
    wanted = None if user_ids is None else sorted(set(user_ids))
    if wanted == []:
        return 0
    count = 0
    for link_id, platform_id in links:
        for user_id in _members(session, platform_id, wanted):
            _bump(session, link_id, user_id)
            count += 1
    if count:
        session.info[_TOUCHED] = True
    return count


def _members(session: Session, platform_id: int, user_ids: list[int] | None) -> list[int]:
    """Our users with an identity of the platform (students only when not named)."""
    issuer = select(LtiPlatform.issuer).where(LtiPlatform.id == platform_id).scalar_subquery()
    query = select(LtiIdentity.user_id).where(LtiIdentity.issuer == issuer).distinct()
    if user_ids is None:
        query = query.join(User, User.id == LtiIdentity.user_id).where(User.role == Role.STUDENT)
    else:
        query = query.where(LtiIdentity.user_id.in_(user_ids))
    return list(session.scalars(query))


def _bump(session: Session, link_id: int, user_id: int) -> None:
    """version + 1; a row held for later (the release time) is due again at once, while a
    send's claim (at most HOLD_HORIZON ahead) and a failure's backoff are kept."""
    now = utcnow()
    held = and_(ScoreOutbox.tries == 0,
                ScoreOutbox.next_try_at > now + timedelta(seconds=HOLD_HORIZON))
    values = {"version": ScoreOutbox.version + 1, "changed_at": now,
              "next_try_at": case((held, None), else_=ScoreOutbox.next_try_at)}
    where = (ScoreOutbox.resource_link_pk == link_id, ScoreOutbox.user_id == user_id)
    if session.execute(update(ScoreOutbox).where(*where).values(**values)
                       .execution_options(synchronize_session=False)).rowcount:
        return
    try:
        with session.begin_nested():
            session.add(ScoreOutbox(resource_link_pk=link_id, user_id=user_id, version=1,
                                    sent_version=0, tries=0, last_error="",
                                    changed_at=utcnow()))
    except IntegrityError:  # another transaction made the row meanwhile: move it on
        session.execute(update(ScoreOutbox).where(*where).values(**values)
                        .execution_options(synchronize_session=False))


def resend(session: Session, assignment_id: int) -> int:
    """Send every student's score of the assignment again now (staff asked): rows for every
    student with an identity, due at once, failures forgotten. How many."""
    count = touch(session, assignment_id)
    links = select(LtiResourceLink.id).where(LtiResourceLink.assignment_id == assignment_id)
    session.execute(update(ScoreOutbox).where(ScoreOutbox.resource_link_pk.in_(links))
                    .values(next_try_at=None, tries=0)
                    .execution_options(synchronize_session=False))
    return count


# -- what the sender takes -------------------------------------------------------------------------

def due(session: Session, *, now: datetime, limit: int = 500, after: int = 0) -> list[int]:
    """Ids (above `after`, in order) of pending rows whose time has come."""
    return list(session.scalars(select(ScoreOutbox.id).where(
        ScoreOutbox.id > after, ScoreOutbox.version > ScoreOutbox.sent_version,
        or_(ScoreOutbox.next_try_at.is_(None), ScoreOutbox.next_try_at <= now))
        .order_by(ScoreOutbox.id).limit(limit)))


def claim(session: Session, *, row_id: int, now: datetime, seconds: float) -> bool:
    """Take a due row for one send (compare-and-set on `next_try_at`, which then holds the
    claim's end): two senders never send one student's score at once, so the platform receives
    them in order; a sender that dies leaves the row due again when the claim ends."""
    done = session.execute(update(ScoreOutbox).where(
        ScoreOutbox.id == row_id, ScoreOutbox.version > ScoreOutbox.sent_version,
        or_(ScoreOutbox.next_try_at.is_(None), ScoreOutbox.next_try_at <= now))
        .values(next_try_at=now + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False))
    return done.rowcount == 1


def sent(session: Session, *, row_id: int, version: int, score: float | None, at: datetime
         ) -> None:
    """The platform took `version`: recorded unless a later version was recorded meanwhile;
    the row is free (due at once if it changed during the send)."""
    session.execute(update(ScoreOutbox).where(ScoreOutbox.id == row_id,
                                              ScoreOutbox.sent_version < version)
                    .values(sent_version=version, sent_score=score, sent_at=at, tries=0,
                            last_error="", next_try_at=None)
                    .execution_options(synchronize_session=False))


def settled(session: Session, *, row_id: int, version: int) -> None:
    """Nothing to tell the LMS for `version` (no graded submission, nothing told before): the
    row is done without a send (what was last sent, if anything, stays recorded)."""
    session.execute(update(ScoreOutbox).where(ScoreOutbox.id == row_id,
                                              ScoreOutbox.sent_version < version)
                    .values(sent_version=version, tries=0, last_error="", next_try_at=None)
                    .execution_options(synchronize_session=False))


def failed(session: Session, *, row_id: int, error: str, retry_at: datetime) -> None:
    """The send failed: the platform's answer kept for staff, tried again at `retry_at`."""
    session.execute(update(ScoreOutbox).where(ScoreOutbox.id == row_id)
                    .values(tries=ScoreOutbox.tries + 1, last_error=error[:2000],
                            next_try_at=retry_at)
                    .execution_options(synchronize_session=False))


def release(session: Session, *, row_id: int, at: datetime | None = None) -> None:
    """Not sent, not failed (the score is not ready to show): due again at `at`."""
    session.execute(update(ScoreOutbox).where(ScoreOutbox.id == row_id)
                    .values(next_try_at=at).execution_options(synchronize_session=False))


def backlog(session: Session) -> dict[str, int]:
    """Rows pending and, among them, failing (the last send failed)."""
    pending = ScoreOutbox.version > ScoreOutbox.sent_version
    return {"pending": session.scalar(select(func.count()).where(pending)) or 0,
            "failing": session.scalar(select(func.count()).where(
                pending, ScoreOutbox.tries > 0)) or 0}


# -- after commit: ask for a send ----------------------------------------------------------------

def notify_after_commit(database_url: str, send: Callable[[], object]) -> None:
    """After a commit on this database that touched rows, call `send` (the process's dispatcher:
    a message to the bulk worker). Once per process and database."""
    with _guard:
        _notify[make_url(database_url).render_as_string(hide_password=False)] = send


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info.pop(_TOUCHED, False):
        return
    send = _notify.get(session.get_bind().url.render_as_string(hide_password=False))
    if send is None:
        return
    try:
        send()
    except Exception:  # the change is committed: the reaper's drain sends it later
        log.exception("could not ask for the LMS scores to be sent")


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_TOUCHED, None)
