"""Bearer tokens and roles: who is calling, and may they?"""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from submissions_api.deps import SessionDep
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
    return crud.user_for_token_hash(session, token_hash=hash_token(token))


def current_user(request: Request, session: SessionDep) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    user = user_for_token(session, token=token.strip())
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or revoked token",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[User, Depends(current_user)]

# The pages' sign-in: the same token, kept in an HTTP-only, Secure, SameSite=Lax cookie (browsers
# treat http://127.0.0.1 and localhost as secure, so Secure works there too).
SESSION_COOKIE = "mlpgrade_token"


def page_user(request: Request, session: SessionDep) -> User:
    """The signed-in user of a page request; 401 (the pages redirect to sign-in) otherwise."""
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    user = user_for_token(session, token=token) if token else None
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "please sign in")
    request.state.user = user  # for the pages' header, error pages included
    return user


PageUser = Annotated[User, Depends(page_user)]


def has_role(user: User, role: Role) -> bool:
    return RANK[Role(user.role)] >= RANK[role]


def is_staff(user: User) -> bool:
    return has_role(user, Role.TA)


def require_role(user: User, role: Role) -> None:
    """403 unless `user` has at least `role` (student < ta < instructor)."""
    if not has_role(user, role):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {role} role")


def require_owner_or_staff(user: User, owner_id: int) -> None:
    if user.id != owner_id and not is_staff(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not your submission")


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no such {what}")
