"""Tokens and roles: which user a token is, and may that user do this? (No web framework here:
`deps.py` reads the token from the request; services call the role checks.)"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy.orm import Session

from submissions_api.errors import Forbidden
from submissions_api.store import crud
from submissions_api.store.models import Role, User

RANK = {Role.STUDENT: 0, Role.TA: 1, Role.INSTRUCTOR: 2}
TOKEN_PREFIX = "mlp_"


def hash_token(token: str) -> str:
    """Tokens are 256 random bits: a plain sha256 is enough to make a stolen table useless."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, *, user: User, label: str = "", token: str | None = None) -> str:
    """A new token for `user`; only its hash is stored, the token is returned once."""
    token = token or TOKEN_PREFIX + secrets.token_urlsafe(32)
    crud.add_token(session, user=user, token_hash=hash_token(token), label=label)
    return token


def user_for_token(session: Session, *, token: str) -> User | None:
    """The user of a token that was issued and not revoked, or None."""
    return crud.user_for_token_hash(session, token_hash=hash_token(token))


def has_role(user: User, role: Role) -> bool:
    """Whether `user` has at least `role` (student < ta < instructor)."""
    return RANK[Role(user.role)] >= RANK[role]


def is_staff(user: User) -> bool:
    return has_role(user, Role.TA)


def require_role(user: User, role: Role) -> None:
    """Forbidden unless `user` has at least `role`."""
    if not has_role(user, role):
        raise Forbidden(f"this needs the {role} role")


def require_owner_or_staff(user: User, owner_id: int) -> None:
    """Forbidden unless `user` owns the submission or is staff."""
    if user.id != owner_id and not is_staff(user):
        raise Forbidden("not your submission")
