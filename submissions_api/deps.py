"""FastAPI dependencies, what routes and pages take: the request's database session, the app's
settings and dispatcher, and who is calling (a bearer token for the API, a cookie for pages).

Authentication fails here with 401, before any service is called; everything else a request can
be refused for is a service error (errors.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from submissions_api.jobs import Dispatcher
from submissions_api.security import user_for_token
from submissions_api.settings import Settings
from submissions_api.store.models import User

# The pages' sign-in: the same token, kept in an HTTP-only, SameSite=Lax cookie, `Secure` when the
# page was served over HTTPS (pages/base.py: scheme); a browser drops a Secure cookie that came
# over plain HTTP from any host but localhost.
SESSION_COOKIE = "mlpgrade_token"


def get_db(request: Request) -> Iterator[Session]:
    """One session per request, from the app's factory."""
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_dispatcher(request: Request) -> Dispatcher:
    """The app's job dispatcher (send after commit)."""
    return request.app.state.dispatcher


DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]


def current_user(request: Request, session: SessionDep) -> User:
    """The API's caller, from `Authorization: Bearer <token>`; 401 otherwise."""
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


def page_user(request: Request, session: SessionDep) -> User:
    """The signed-in user of a page request; 401 (the pages redirect to sign-in) otherwise."""
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    user = user_for_token(session, token=token) if token else None
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "please sign in")
    request.state.user = user  # for the pages' header, error pages included
    return user


PageUser = Annotated[User, Depends(page_user)]
