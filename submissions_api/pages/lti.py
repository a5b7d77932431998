"""The LTI 1.3 endpoints an LMS calls (glue over submissions_api/lms/): the OIDC login
initiation, the launch, the tool's JWKS; and the pages a launch leads to: the deep-linking picker,
an instructor's choice of assignment for a link, and a student's "not set up yet".

The login and the launch are posted by the platform's page (another site), so they are not
PageRoutes (whose POSTs must come from our origin); what makes them safe is verify.py. A refused
launch answers 403 with a page naming the failed check, and signs nobody in.

The login's cookies and the sign-in cookie a launch sets work inside the LMS's iframe
(pages/base.py: frame_cookie): over TLS `SameSite=None; Secure; Partitioned`, over plain HTTP
`Lax`. No page forbids framing. Launched in a new window, the same cookies work first-party.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.orm import Session

from submissions_api.deps import SESSION_COOKIE, DispatcherDep, PageUser, SessionDep
from submissions_api.errors import ServiceError
from submissions_api.grades import total_max_score
from submissions_api.lms import deeplink, keys
from submissions_api.lms import launch as lti
from submissions_api.lms.adapter import LtiRequest
from submissions_api.lms.registry import tool_urls
from submissions_api.lms.verify import LaunchRefused
from submissions_api.pages.auth import COOKIE_DAYS
from submissions_api.pages.base import (
    error_page,
    frame_cookie,
    page_router,
    render,
    scheme,
    see_other,
)
from submissions_api.security import is_staff, issue_token, require_role, user_for_token
from submissions_api.services import fetch
from submissions_api.services.visibility import visible_assignments
from submissions_api.store.models import Role, User
from submissions_api.store.models_lms import LtiResourceLink

platform_router = APIRouter(include_in_schema=False)
router = page_router()


def base_url(request: Request) -> str:
    """The tool's public URL: MLPGRADE_PUBLIC_URL, else how this request reached us."""
    configured = request.app.state.settings.public_url
    return (configured or f"{scheme(request)}://{request.url.netloc}").rstrip("/")


async def _lti_request(request: Request) -> LtiRequest:
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return LtiRequest(params=params, cookies=dict(request.cookies),
                      secure=scheme(request) == "https")


def refused_page(request: Request, exc: LaunchRefused) -> Response:
    return render(request, "lti_refused.html", status_code=403, title="Launch refused",
                  check=exc.check, check_name=exc.check_name, message=exc.message)


@platform_router.api_route("/lti/login", methods=["GET", "POST"])
async def login(request: Request, session: SessionDep):
    lti_request = await _lti_request(request)
    try:
        start = lti.start_login(session, lti_request, tool_urls(base_url(request)).launch)
    except LaunchRefused as exc:
        return refused_page(request, exc)
    response = RedirectResponse(start.redirect_url, status_code=302)
    for cookie in start.cookies:
        frame_cookie(request, response, cookie.name, cookie.value, max_age=cookie.max_age or 0,
                     path="/lti")
    return response


@platform_router.post("/lti/launch")
async def launch(request: Request, session: SessionDep, dispatcher: DispatcherDep):
    lti_request = await _lti_request(request)
    try:
        accepted = lti.accept_launch(session, lti_request)
        landing = lti.land(session, accepted)
        picker = None
        if accepted.message_type == lti.DEEP_LINKING:
            require_role(landing.user, Role.INSTRUCTOR)
            picker = deeplink.seal(session, deeplink.picker_for(accepted, landing.user))
    except LaunchRefused as exc:
        session.rollback()
        return refused_page(request, exc)
    except ServiceError as exc:  # a student's deep-linking launch, a picker the LMS misread
        session.rollback()
        return error_page(request, exc.status, exc.message)
    token = _session_token(request, session, landing.user)
    roster_of = landing.context.id if landing.sync_roster and landing.context else None
    session.commit()
    if roster_of is not None:  # queued after the commit, never waited for
        dispatcher.send_roster_sync(roster_of)
    if picker is not None:
        response = _picker_page(request, session, landing.user, picker)
    else:
        response = see_other(f"/lti/links/{landing.link.id}")
    for name in accepted.spent_cookies:
        frame_cookie(request, response, name, max_age=0, path="/lti")
    frame_cookie(request, response, SESSION_COOKIE, token, max_age=COOKIE_DAYS * 86400)
    return response


def _session_token(request: Request, session: Session, user: User) -> str:
    """The browser's token if it is already this user's, else a new one."""
    current = request.cookies.get(SESSION_COOKIE, "").strip()
    signed = user_for_token(session, token=current) if current else None
    if signed is not None and signed.id == user.id:
        return current
    return issue_token(session, user=user, label="LTI launch")


@platform_router.get("/lti/jwks")
def jwks(session: SessionDep):
    body = keys.public_jwks(session)
    return JSONResponse(body, headers={"Cache-Control": "max-age=300"})


def _picker_page(request: Request, session: Session, user: User, sealed: str) -> Response:
    return render(request, "lti_deep_link.html", title="Add an assignment to the course",
                  user=user, sealed=sealed, assignments=visible_assignments(session, user),
                  total_max_score=total_max_score)


@router.post("/lti/deep-link")
def deep_link_choice(request: Request, user: PageUser, session: SessionDep,
                     sealed: str = Form(), assignment: str = Form()):
    require_role(user, Role.INSTRUCTOR)
    picker = deeplink.unseal(session, sealed, user)
    chosen = fetch.assignment(session, assignment)
    token = deeplink.response_jwt(session, picker, chosen, tool_urls(base_url(request)).launch)
    return render(request, "lti_autopost.html", title="Back to the LMS",
                  action=picker.return_url, fields={"JWT": token},
                  what=f"Placing {chosen.title or chosen.slug} in the course")


@router.get("/lti/links/{link_id}")
def link_landing(link_id: int, request: Request, user: PageUser, session: SessionDep):
    """Where a resource-link launch lands: the bound assignment (students its page, staff its
    dashboard); an unbound link asks an instructor to choose, and tells others to wait."""
    link = session.get(LtiResourceLink, link_id)
    if link is None:
        return render(request, "error.html", status_code=404, title="Not found", code=404,
                      message="no such LMS link")
    if link.assignment is not None:
        slug = link.assignment.slug
        return see_other(f"/staff/assignments/{slug}" if is_staff(user)
                         else f"/assignments/{slug}")
    if user.role == Role.INSTRUCTOR:
        return render(request, "lti_bind.html", title="Choose the assignment", link=link,
                      assignments=visible_assignments(session, user))
    return render(request, "lti_pending.html", title="Not set up yet", link=link)


@router.post("/lti/links/{link_id}/bind")
def bind(link_id: int, user: PageUser, session: SessionDep, assignment: str = Form()):
    require_role(user, Role.INSTRUCTOR)
    link = session.get(LtiResourceLink, link_id)
    if link is None:
        return see_other("/")
    lti.bind_link(session, link, fetch.assignment(session, assignment))
    session.commit()
    return see_other(f"/lti/links/{link_id}")
