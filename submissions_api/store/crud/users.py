"""Users and their API tokens (the store sees only tokens' hashes)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from submissions_api.store.models import ApiToken, Role, User, utcnow


def create_user(session: Session, *, login: str, name: str = "", role: str = Role.STUDENT) -> User:
    user = User(login=login, name=name, role=Role(role))
    session.add(user)
    session.flush()
    return user



def get_user_by_login(session: Session, *, login: str) -> User | None:
    return session.scalar(select(User).where(User.login == login))



def list_users(session: Session, *, role: str | None = None) -> Sequence[User]:
    query = select(User).order_by(User.login)
    if role:
        query = query.where(User.role == role)
    return session.scalars(query).all()



def add_token(session: Session, *, user: User, token_hash: str, label: str = "") -> ApiToken:
    """Store a token's hash for `user` (the token itself is never stored)."""
    row = ApiToken(user_id=user.id, token_hash=token_hash, label=label)
    session.add(row)
    session.flush()
    return row



def user_for_token_hash(session: Session, *, token_hash: str) -> User | None:
    """The user of a live token, in one query (every signed-in request asks)."""
    return session.scalar(select(User).join(ApiToken, ApiToken.user_id == User.id)
                          .where(ApiToken.token_hash == token_hash,
                                 ApiToken.revoked_at.is_(None)))



def lock_user(session: Session, *, user: User) -> None:
    """Serialise one student's uploads (limit and cooldown checks) on PostgreSQL; SQLite
    serialises writers anyway."""
    session.execute(select(User.id).where(User.id == user.id).with_for_update())


def list_tokens(session: Session, *, user: User) -> Sequence[ApiToken]:
    """Every token of `user`, newest first (revoked ones too: they show when)."""
    return session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                           .order_by(ApiToken.id.desc())).all()


def revoke_tokens(session: Session, *, user: User, token_id: int | None = None) -> int:
    """Revoke one token of `user` (`token_id`) or all its live ones; how many were revoked."""
    query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    rows = session.scalars(query).all()
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    session.flush()
    return len(rows)


def live_token_counts(session: Session) -> dict[int, int]:
    """user id → how many of their tokens are not revoked (users without any: absent)."""
    rows = session.execute(select(ApiToken.user_id, func.count(ApiToken.id))
                           .where(ApiToken.revoked_at.is_(None)).group_by(ApiToken.user_id))
    return {user_id: count for user_id, count in rows}
