"""Users and tokens: instructors create users; anyone can see themselves and renew their token."""

from __future__ import annotations

from fastapi import APIRouter

from submissions_api.deps import CurrentUser, SessionDep
from submissions_api.schemas import TokenOut, UserIn, UserOut
from submissions_api.services import users as service

router = APIRouter(tags=["users"])


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.get("/users", response_model=list[UserOut])
def list_users(user: CurrentUser, session: SessionDep, role: str | None = None) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in service.list_users(session, user, role=role)]


@router.post("/users", response_model=TokenOut, status_code=201)
def create_user(body: UserIn, user: CurrentUser, session: SessionDep) -> TokenOut:
    new, token = service.create_user(session, user, login=body.login, name=body.name,
                                     role=body.role)
    return TokenOut(user=UserOut.model_validate(new), token=token)


@router.post("/users/{login}/tokens", response_model=TokenOut, status_code=201)
def issue_token(login: str, user: CurrentUser, session: SessionDep) -> TokenOut:
    """A new token for a user: yourself, or anyone if you are an instructor."""
    target, token = service.issue_token(session, user, login)
    return TokenOut(user=UserOut.model_validate(target), token=token)
