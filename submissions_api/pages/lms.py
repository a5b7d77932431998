"""The instructors' LMS page: register a platform (LTI 1.3), see and remove the registered ones,
and copy what the LMS needs from the tool (its URLs and a configuration to paste)."""

from __future__ import annotations

import json

from fastapi import Form, Request
from sqlalchemy.orm import Session

from submissions_api.deps import PageUser, SessionDep
from submissions_api.errors import ServiceError
from submissions_api.lms import registry
from submissions_api.pages.base import page_router, render, see_other
from submissions_api.pages.lti import base_url
from submissions_api.security import require_role
from submissions_api.store.models import Role, User

router = page_router()


def _page(request: Request, session: Session, user: User, *, status_code: int = 200,
          **context):
    urls = registry.tool_urls(base_url(request))
    return render(request, "staff_lms.html", status_code=status_code, title="LMS (LTI 1.3)",
                  user=user, urls=urls, platforms=registry.list_platforms(session),
                  canvas=json.dumps(registry.canvas_config(urls), indent=2),
                  moodle=registry.moodle_config(urls), **context)


@router.get("/staff/lms")
def lms_page(request: Request, user: PageUser, session: SessionDep):
    require_role(user, Role.INSTRUCTOR)
    return _page(request, session, user, saved=request.query_params.get("saved"))


@router.post("/staff/lms")
def add_platform(request: Request, user: PageUser, session: SessionDep,
                 issuer: str = Form(""), client_id: str = Form(""),
                 deployment_ids: str = Form(""), auth_login_url: str = Form(""),
                 auth_token_url: str = Form(""), key_set_url: str = Form(""),
                 name: str = Form(""), auth_audience: str = Form("")):
    require_role(user, Role.INSTRUCTOR)
    fields = registry.PlatformFields(
        issuer=issuer, client_id=client_id,
        deployment_ids=tuple(deployment_ids.replace(",", " ").split()),
        auth_login_url=auth_login_url, auth_token_url=auth_token_url, key_set_url=key_set_url,
        name=name, auth_audience=auth_audience)
    try:
        platform = registry.add_platform(session, fields)
    except ServiceError as exc:
        session.rollback()
        return _page(request, session, user, status_code=exc.status, error=exc.message,
                     form=fields)
    session.commit()
    return see_other(f"/staff/lms?saved={platform.name}")


@router.post("/staff/lms/{platform_id}/remove")
def remove_platform(platform_id: int, user: PageUser, session: SessionDep):
    require_role(user, Role.INSTRUCTOR)
    registry.remove_platform(session, platform_id)
    session.commit()
    return see_other("/staff/lms")
