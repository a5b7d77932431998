"""One-time sign-in links (the store sees only their tokens' hashes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, aliased

from submissions_api.store.models import User
from submissions_api.store.models_lms import LtiIdentity, SignInLink


def add_link(session: Session, *, user: User, sent_to: str, expires_at: datetime,
             requested_by: str = "", token_hash: str | None = None, status: str = "queued"
             ) -> SignInLink:
    row = SignInLink(user_id=user.id, sent_to=sent_to, expires_at=expires_at,
                     requested_by=requested_by, token_hash=token_hash, status=status,
                     attempts=0, error="")
    session.add(row)
    session.flush()
    return row


def link_by_hash(session: Session, *, token_hash: str) -> SignInLink | None:
    return session.scalar(select(SignInLink).where(SignInLink.token_hash == token_hash))


def use_link(session: Session, *, link_id: int, now: datetime) -> bool:
    """Mark a sent, unused, unexpired link used, in one statement: of two requests racing
    with the same link exactly one gets True."""
    result = session.execute(
        update(SignInLink)
        .where(SignInLink.id == link_id, SignInLink.used_at.is_(None),
               SignInLink.status == "sent", SignInLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def links_since(session: Session, *, since: datetime, user_id: int | None = None,
                sent_to: str | None = None, requested_by: str | None = None) -> int:
    """How many links were asked for since `since`: of one user, to one address, asked for by
    someone ("" the users themselves), or all."""
    query = select(func.count(SignInLink.id)).where(SignInLink.created_at >= since)
    if requested_by is not None:
        query = query.where(SignInLink.requested_by == requested_by)
    if user_id is not None:
        query = query.where(SignInLink.user_id == user_id)
    if sent_to is not None:
        query = query.where(func.lower(SignInLink.sent_to) == sent_to.lower())
    return session.scalar(query) or 0


def latest_links(session: Session) -> dict[int, SignInLink]:
    """user id → their newest link (users without any: absent)."""
    newest = (select(SignInLink.user_id, func.max(SignInLink.id).label("id"))
              .group_by(SignInLink.user_id).subquery())
    rows = session.scalars(select(SignInLink).join(newest, SignInLink.id == newest.c.id))
    return {row.user_id: row for row in rows}


def links_with_status(session: Session, *, status: str) -> list[SignInLink]:
    """Every link in `status` whose user has no newer link (what "send again" re-sends)."""
    newer = aliased(SignInLink)
    has_newer = select(newer.id).where(newer.user_id == SignInLink.user_id,
                                       newer.id > SignInLink.id)
    return list(session.scalars(select(SignInLink).where(
        SignInLink.status == status, ~exists(has_newer)).order_by(SignInLink.id)))


def users_by_address(session: Session, *, address: str) -> list[User]:
    """Active users whose e-mail is `address` (compared without case)."""
    return list(session.scalars(select(User).where(
        func.lower(User.email) == address.strip().lower(), User.active.is_(True))
        .order_by(User.id).limit(3)))


def never_signed_in(session: Session, *, role: str, now: datetime) -> list[User]:
    """Active users of `role` with an e-mail who never used a sign-in link, never came from an
    LMS launch, and hold no link that still works (queued or sent, unused, unexpired): whom
    "invite everyone" mails, so pressing it twice mails nobody twice."""
    used = select(SignInLink.id).where(SignInLink.user_id == User.id,
                                       SignInLink.used_at.is_not(None))
    live = select(SignInLink.id).where(SignInLink.user_id == User.id,
                                       SignInLink.status.in_(("queued", "sent")),
                                       SignInLink.expires_at > now)
    launched = select(LtiIdentity.id).where(LtiIdentity.user_id == User.id)
    return list(session.scalars(select(User).where(
        User.role == role, User.active.is_(True), User.email != "",
        ~exists(used), ~exists(live), ~exists(launched)).order_by(User.login)))
