"""Every signed-in user's account page (students, TAs, instructors): who they are, when their
token was issued, and "Rotate my token": the new token is shown once, and this browser's sign-in
cookie becomes it, so they stay signed in."""

from __future__ import annotations

from fastapi import Request, Response
from sqlalchemy.orm import Session

from submissions_api.deps import SESSION_COOKIE, PageUser, SessionDep
from submissions_api.pages.auth import set_sign_in
from submissions_api.pages.base import page_router, render
from submissions_api.services import users as service
from submissions_api.store.models import User

router = page_router()


def _page(request: Request, session: Session, user: User, *, token: str, new_token: str = ""
          ) -> Response:
    return render(request, "account.html", title="Your account", me=user,
                  tokens=service.own_tokens(session, user, current=token), new_token=new_token)


@router.get("/account")
def account(request: Request, user: PageUser, session: SessionDep):
    return _page(request, session, user, token=request.cookies.get(SESSION_COOKIE, ""))


@router.post("/account/token")
def rotate(request: Request, user: PageUser, session: SessionDep):
    """Rotate the signed-in user's own token (the form posts from this site only: base.py)."""
    token = service.rotate_own_token(session, user)
    response = _page(request, session, user, token=token, new_token=token)
    response.headers["Cache-Control"] = "no-store"  # the page holds the token
    return set_sign_in(request, response, token)
