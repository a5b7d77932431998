"""FastAPI dependencies, what routes and pages take: the request's database session, the app's
settings and dispatcher, and who is calling (a bearer token for the API, a cookie for pages).

Authentication fails here with 401, before any service is called; everything else a request can
be refused for is a service error (errors.py).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from submissions_api.jobs import Dispatcher
from submissions_api.security import user_for_token
from submissions_api.settings import Settings
from submissions_api.store.models import User

# The pages' sign-in: the same token, kept in an HTTP-only, SameSite=Lax cookie, `Secure` when the
# page was served over HTTPS (pages/base.py: scheme); a browser drops a Secure cookie that came
# over plain HTTP from any host but localhost.
SESSION_COOKIE = "mlpgrade_token"


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One session per request, from the app's factory. Closed on the event loop, not in a
    worker thread: a sync dependency's exit waits for a free thread, and with every thread
    waiting for a pooled connection the connections held by finished requests were never given
    back (30 s pool timeouts at 200 clients). Closing returns the connection at once."""
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db)]


class ReleasingRoute(APIRoute):
    """An API route whose sync endpoint gives its pooled connection back (ends its transaction,
    discarding what it did not commit, as closing would) in its own thread, before it returns:
    FastAPI validates a sync endpoint's response in another worker thread, and a request that
    held its connection while waiting for one, with every thread waiting for a connection,
    deadlocked the process until the pool timed out (503s at 200 clients)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _releasing(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _releasing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return endpoint(*args, **kwargs)
        finally:
            session = kwargs.get("session")
            if isinstance(session, Session):
                session.rollback()
    return run


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_dispatcher(request: Request) -> Dispatcher:
    """The app's job dispatcher (send after commit)."""
    return request.app.state.dispatcher


DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]


def signed_in(session: Session, token: str) -> User | None:
    """The token's user; the lookup's transaction ends here, so that no request holds a pooled
    connection while it waits for a thread to run its route (the route's queries take one
    again)."""
    user = user_for_token(session, token=token)
    session.commit()
    return user


# Declares the bearer scheme in the OpenAPI document (the Authorize button of /docs); the
# header is read below, so that the 401s keep their messages.
BEARER = HTTPBearer(auto_error=False, description="Your token (the pages' /account shows how to "
                    "get one; `mlpgrade users tokens rotate LOGIN` makes a new one)")


def current_user(request: Request, session: SessionDep,
                 _credentials: HTTPAuthorizationCredentials | None = Depends(BEARER)) -> User:
    """The API's caller, from `Authorization: Bearer <token>`; 401 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    user = signed_in(session, token.strip())
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or revoked token",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def bearer_or_cookie_user(request: Request, session: SessionDep,
                          _credentials: HTTPAuthorizationCredentials | None = Depends(BEARER)
                          ) -> User:
    """A read-only GET that both a scraper (bearer token) and a signed-in browser (the pages'
    cookie) may open, e.g. /metrics: the bearer token when one is sent, else the cookie."""
    if request.headers.get("authorization") or not request.cookies.get(SESSION_COOKIE):
        return current_user(request, session)
    user = signed_in(session, request.cookies[SESSION_COOKIE].strip())
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or revoked token",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


BearerOrCookieUser = Annotated[User, Depends(bearer_or_cookie_user)]


def page_user(request: Request, session: SessionDep) -> User:
    """The signed-in user of a page request; 401 (the pages redirect to sign-in) otherwise."""
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    user = signed_in(session, token) if token else None
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "please sign in")
    request.state.user = user  # for the pages' header, error pages included
    return user


PageUser = Annotated[User, Depends(page_user)]
