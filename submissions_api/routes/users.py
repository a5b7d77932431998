"""Users and tokens: instructors create users; anyone can see themselves and renew their token."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from submissions_api import security
from submissions_api.deps import SessionDep
from submissions_api.schemas import TokenOut, UserIn, UserOut
from submissions_api.security import CurrentUser, not_found, require_role
from submissions_api.store import crud
from submissions_api.store.models import Role

router = APIRouter(tags=["users"])


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.get("/users", response_model=list[UserOut])
def list_users(user: CurrentUser, session: SessionDep, role: str | None = None) -> list[UserOut]:
    require_role(user, Role.TA)
    return [UserOut.model_validate(u) for u in crud.list_users(session, role=role)]


@router.post("/users", response_model=TokenOut, status_code=201)
def create_user(body: UserIn, user: CurrentUser, session: SessionDep) -> TokenOut:
    require_role(user, Role.INSTRUCTOR)
    if crud.get_user_by_login(session, login=body.login):
        raise HTTPException(status.HTTP_409_CONFLICT, f"user {body.login} exists")
    new = crud.create_user(session, login=body.login, name=body.name, role=body.role)
    token = security.issue_token(session, user=new, label="created")
    session.commit()
    return TokenOut(user=UserOut.model_validate(new), token=token)


@router.post("/users/{login}/tokens", response_model=TokenOut, status_code=201)
def issue_token(login: str, user: CurrentUser, session: SessionDep) -> TokenOut:
    """A new token for a user: yourself, or anyone if you are an instructor."""
    target = crud.get_user_by_login(session, login=login)
    if target is None:
        raise not_found("user")
    if target.id != user.id:
        require_role(user, Role.INSTRUCTOR)
    token = security.issue_token(session, user=target, label=f"issued by {user.login}")
    session.commit()
    return TokenOut(user=UserOut.model_validate(target), token=token)
