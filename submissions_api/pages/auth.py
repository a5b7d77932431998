"""Sign-in with a token, sign-out, the home page and the static files."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlparse

from fastapi import Form, HTTPException, Request, Response
from fastapi.responses import FileResponse

from submissions_api.deps import SESSION_COOKIE, PageUser, SessionDep
from submissions_api.pages.base import frame_cookie, page_router, render, scheme, see_other
from submissions_api.security import is_staff, user_for_token
from submissions_api.services.submissions import student_window
from submissions_api.services.visibility import visible_assignments

router = page_router()
STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"style.css": "text/css", "pages.js": "text/javascript",
                "favicon.svg": "image/svg+xml", "grading.css": "text/css",
                "grading.js": "text/javascript"}
COOKIE_DAYS = 14
NO_COOKIE = ("Your token is valid, but your browser did not keep the sign-in cookie, so you are "
             "not signed in. Allow cookies for this site, then sign in again.")


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    if name not in STATIC_FILES:
        raise HTTPException(404, "no such file")
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name],
                        headers={"Cache-Control": "max-age=300"})


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """Browsers ask for it whatever the page's <link rel=icon> says."""
    return static("favicon.svg")


@router.get("/login")
def login_form(request: Request, next: str = "/"):
    return render(request, "login.html", title="Sign in", next=_local(next))


@router.post("/login")
def login(request: Request, session: SessionDep, token: str = Form(""), next: str = Form("/")):
    user = user_for_token(session, token=token.strip()) if token.strip() else None
    if user is None:
        return render(request, "login.html", status_code=401, title="Sign in", next=_local(next),
                      error="That token is not valid (or was revoked). Ask your TA for a new one.")
    # The check page sees whether the browser kept the cookie, and says so when it did not.
    return set_sign_in(request, see_other(f"/login/check?next={quote(_local(next))}"),
                       token.strip())


def set_sign_in(request: Request, response: Response, token: str) -> Response:
    """`response`, signing its browser in with `token` (deps.py: SESSION_COOKIE); a new token
    replaces the old cookie."""
    response.set_cookie(SESSION_COOKIE, token, max_age=COOKIE_DAYS * 86400, httponly=True,
                        secure=scheme(request) == "https", samesite="lax", path="/")
    return response


@router.get("/login/check")
def login_check(request: Request, next: str = "/"):
    """Right after sign-in: on to `next` when the cookie came back, else say why it did not."""
    if request.cookies.get(SESSION_COOKIE):
        return see_other(_local(next))
    return render(request, "login.html", status_code=400, title="Sign in", next=_local(next),
                  error=NO_COOKIE)


@router.post("/logout")
def logout(request: Request):
    response = see_other("/login")
    response.delete_cookie(SESSION_COOKIE, path="/", secure=scheme(request) == "https",
                           httponly=True, samesite="lax")
    frame_cookie(request, response, SESSION_COOKIE)  # an LTI launch's (partitioned) one too
    return response


@router.get("/")
def home(request: Request, user: PageUser, session: SessionDep):
    shown = visible_assignments(session, user)
    # a student sees their own deadline (an extension moves it); staff the assignment's
    windows = {} if is_staff(user) else {a.id: student_window(session, a, user) for a in shown}
    return render(request, "home.html", title="Assignments", staff=is_staff(user),
                  assignments=shown, windows=windows)


def _local(target: str) -> str:
    """Only redirect within this site after sign-in."""
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target
