"""Signing in with a mailed link (submissions_api/sign_in_links.py), and asking for a new one.

Opening a link (GET) only shows whose it is and a "Sign in as ..." button: mail security
gateways fetch links in mail to scan them, and such a fetch must not use the link up. The
button's POST uses it and signs the browser in as a token sign-in does (auth.set_sign_in).
"""

from __future__ import annotations

from fastapi import Form, Request
from fastapi.responses import HTMLResponse

from submissions_api import sign_in_links
from submissions_api.deps import DispatcherDep, SessionDep, SettingsDep
from submissions_api.pages.auth import set_sign_in
from submissions_api.pages.base import page_router, render, see_other
from submissions_api.services.invitations import request_own_link

router = page_router()
STATUS = {"valid": 200, "used": 410, "expired": 410, "inactive": 403, "unknown": 404}
PRIVATE = {"Referrer-Policy": "same-origin", "Cache-Control": "no-store",
           "X-Robots-Tag": "noindex"}
"""A link page's URL holds the token: never sent to another site as a referrer, kept in a cache
or indexed. (`no-referrer` would also make the browser post the button's form with `Origin:
null`, which the pages' same-origin check refuses.)"""


def new_link_answer(settings) -> str:
    """What "mail me a new link" answers, whoever was asked for: it tells nobody who exists."""
    days = f"{settings.sign_in_link_days:g}"
    return ("If that is the login or e-mail address of an account here, a new sign-in link is "
            f"on its way to the account's e-mail. It works once, for {days} days. Nothing in a "
            "few minutes? Look in your spam folder, or ask your course staff.")


def _link_page(request: Request, state: sign_in_links.LinkState, token: str) -> HTMLResponse:
    mail = sign_in_links.mail_problem(request.app.state.settings) is None
    response = render(request, "sign_in_link.html", status_code=STATUS[state.state],
                      title="Sign in", state=state.state, who=state.user, token=token, mail=mail)
    response.headers.update(PRIVATE)
    return response


@router.get("/login/link/{token}")
def open_link(token: str, request: Request, session: SessionDep):
    """Whose link this is and a button to sign in, or what is wrong with it and what to do."""
    state = sign_in_links.inspect_link(session, token)
    session.rollback()
    return _link_page(request, state, token)


@router.post("/login/link/{token}")
def use_link(token: str, request: Request, session: SessionDep):
    state, api_token = sign_in_links.use(session, token)
    if api_token is None:
        return _link_page(request, state, token)
    return set_sign_in(request, see_other("/login/check?next=/"), api_token)


@router.post("/login/new-link")
def new_link(request: Request, session: SessionDep, settings: SettingsDep,
             dispatcher: DispatcherDep, who: str = Form("")):
    request_own_link(session, settings, dispatcher, who)
    return render(request, "login.html", title="Sign in", next="/",
                  sent=new_link_answer(settings))
