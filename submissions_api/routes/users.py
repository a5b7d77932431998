"""Users and tokens: instructors create users, change roles and revoke access; anyone can see
themselves and list, revoke and rotate their own tokens (instructors anyone's)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from submissions_api.deps import CurrentUser, ReleasingRoute, SessionDep
from submissions_api.routes.params import Id
from submissions_api.schemas import TokenInfo, TokenOut, UserIn, UserOut, UserPatch
from submissions_api.services import users as service

router = APIRouter(route_class=ReleasingRoute, tags=["users"])


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.post("/me/tokens/rotate", response_model=TokenOut, status_code=201)
def rotate_own_token(user: CurrentUser, session: SessionDep) -> TokenOut:
    """Revoke every token of yours (this one too) and get one new one, shown once."""
    return TokenOut(user=UserOut.model_validate(user),
                    token=service.rotate_own_token(session, user))


@router.get("/users", response_model=list[UserOut])
def list_users(user: CurrentUser, session: SessionDep, role: str | None = None) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in service.list_users(session, user, role=role)]


@router.post("/users", response_model=TokenOut, status_code=201)
def create_user(body: UserIn, user: CurrentUser, session: SessionDep) -> TokenOut:
    new, token = service.create_user(session, user, login=body.login, name=body.name,
                                     role=body.role)
    return TokenOut(user=UserOut.model_validate(new), token=token)


@router.patch("/users/{login}", response_model=UserOut)
def update_user(login: str, body: UserPatch, user: CurrentUser, session: SessionDep) -> UserOut:
    """Change a user's role or name (instructors; the last instructor keeps the role)."""
    return UserOut.model_validate(service.update_user(session, user, login, role=body.role,
                                                      name=body.name))


@router.post("/users/{login}/revoke")
def revoke_user(login: str, user: CurrentUser, session: SessionDep) -> dict[str, int]:
    """Revoke every token of a user (instructors): they are signed out everywhere."""
    return {"revoked": service.revoke_user(session, user, login)}


@router.post("/users/{login}/tokens", response_model=TokenOut, status_code=201)
def issue_token(login: str, user: CurrentUser, session: SessionDep) -> TokenOut:
    """A new token for a user (old ones stay valid): yourself, or anyone if you are an
    instructor."""
    target, token = service.issue_token(session, user, login)
    return TokenOut(user=UserOut.model_validate(target), token=token)


@router.get("/users/{login}/tokens", response_model=list[TokenInfo])
def list_tokens(login: str, user: CurrentUser, session: SessionDep) -> list[TokenInfo]:
    """A user's tokens, newest first, with when each was revoked (never the tokens)."""
    return [TokenInfo.model_validate(t) for t in service.list_tokens(session, user, login)]


@router.post("/users/{login}/tokens/rotate", response_model=TokenOut, status_code=201)
def rotate_token(login: str, user: CurrentUser, session: SessionDep) -> TokenOut:
    """Revoke every token of a user and issue one new one, shown once."""
    target, token = service.rotate_token(session, user, login)
    return TokenOut(user=UserOut.model_validate(target), token=token)


@router.delete("/users/{login}/tokens/{token_id}", status_code=204)
def revoke_token(login: str, token_id: Id, user: CurrentUser, session: SessionDep) -> Response:
    service.revoke_token(session, user, login, token_id)
    return Response(status_code=204)
