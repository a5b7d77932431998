"""Sign-in with a token, sign-out, the home page and the static files."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from fastapi import Form, HTTPException, Request
from fastapi.responses import FileResponse

from submissions_api.deps import SESSION_COOKIE, PageUser, SessionDep
from submissions_api.pages.base import page_router, render, see_other
from submissions_api.security import is_staff, user_for_token
from submissions_api.services.assignments import list_assignments

router = page_router()
STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"style.css": "text/css", "pages.js": "text/javascript"}
COOKIE_DAYS = 14


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    if name not in STATIC_FILES:
        raise HTTPException(404, "no such file")
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name],
                        headers={"Cache-Control": "max-age=300"})


@router.get("/login")
def login_form(request: Request, next: str = "/"):
    return render(request, "login.html", title="Sign in", next=_local(next))


@router.post("/login")
def login(request: Request, session: SessionDep, token: str = Form(""), next: str = Form("/")):
    user = user_for_token(session, token=token.strip()) if token.strip() else None
    if user is None:
        return render(request, "login.html", status_code=401, title="Sign in", next=_local(next),
                      error="That token is not valid (or was revoked). Ask your TA for a new one.")
    response = see_other(_local(next))
    response.set_cookie(SESSION_COOKIE, token.strip(), max_age=COOKIE_DAYS * 86400, httponly=True,
                        secure=True, samesite="lax", path="/")
    return response


@router.post("/logout")
def logout():
    response = see_other("/login")
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response


@router.get("/")
def home(request: Request, user: PageUser, session: SessionDep):
    return render(request, "home.html", title="Assignments", staff=is_staff(user),
                  assignments=list_assignments(session))


def _local(target: str) -> str:
    """Only redirect within this site after sign-in."""
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target
