"""Users and tokens: instructors create users; anyone can renew their own token."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from submissions_api import security
from submissions_api.errors import Conflict
from submissions_api.security import require_role
from submissions_api.services import fetch
from submissions_api.store import crud
from submissions_api.store.models import Role, User


def list_users(session: Session, user: User, *, role: str | None = None) -> Sequence[User]:
    require_role(user, Role.TA)
    return crud.list_users(session, role=role)


def create_user(session: Session, user: User, *, login: str, name: str, role: str
                ) -> tuple[User, str]:
    """A new user and their first token, shown once (instructors); 409 when the login exists."""
    require_role(user, Role.INSTRUCTOR)
    if crud.get_user_by_login(session, login=login):
        raise Conflict(f"user {login} exists")
    new = crud.create_user(session, login=login, name=name, role=role)
    token = security.issue_token(session, user=new, label="created")
    session.commit()
    return new, token


def issue_token(session: Session, user: User, login: str) -> tuple[User, str]:
    """A new token for a user: yourself, or anyone if you are an instructor."""
    target = fetch.user(session, login)
    if target.id != user.id:
        require_role(user, Role.INSTRUCTOR)
    token = security.issue_token(session, user=target, label=f"issued by {user.login}")
    session.commit()
    return target, token
