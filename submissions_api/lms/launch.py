"""An LTI 1.3 launch from start to landing: the OIDC third-party login (`start_login`: send the
browser to the platform with a state and a nonce), the launch (`accept_launch`: every check of
verify.py, then the nonce recorded as used), and what it leads to (`land`: the account, the
course and the link stored, and where the browser goes). The page routes (pages/lti.py) are
glue around these three and sign the user in.

Grades and roster: a launch that makes an identity, or binds a link to an assignment, moves the
AGS outbox on (lms/outbox.py) so scores given before reach the LMS; after an instructor's launch
`after_instructor_launch` marks the course's NRPS roster sync due (at most hourly), and the page
asks the bulk worker for it after the commit (`Landing.sync_roster`), never waiting for the LMS.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pylti1p3.exception import OIDCException
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from submissions_api.lms import outbox, registry, roster
from submissions_api.lms.accounts import CLAIM, account_for_launch
from submissions_api.lms.adapter import (
    BrowserSession,
    CookieJar,
    CookieToSet,
    DatabaseToolConf,
    LtiRequest,
)
from submissions_api.lms.verify import SKEW_SECONDS, LaunchRefused, VerifiedLaunch
from submissions_api.store import crud
from submissions_api.store.models import Assignment, Role, User, utcnow
from submissions_api.store.models_lms import LtiContext, LtiNonce, LtiPlatform, LtiResourceLink

AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEEP_LINKING = "LtiDeepLinkingRequest"
ASSIGNMENT_PARAM = "mlpgrade_assignment"
"""The custom parameter a deep-linked resource link carries: the assignment's slug."""


class _Redirect(Redirect[str]):
    def __init__(self, url: str) -> None:
        self._url = url

    def do_redirect(self) -> str:
        return self._url

    def do_js_redirect(self) -> str:
        return self._url

    def set_redirect_url(self, location: str) -> None:
        self._url = location

    def get_redirect_url(self) -> str:
        return self._url


class _Login(OIDCLogin):
    def get_redirect(self, url: str) -> _Redirect:
        return _Redirect(url)


@dataclass(frozen=True)
class LoginStart:
    redirect_url: str
    cookies: list[CookieToSet]


def start_login(session: Session, request: LtiRequest, launch_url: str) -> LoginStart:
    """The OIDC login initiation: the platform's authorization URL to send the browser to, and
    the state and nonce cookies that bind the coming launch to this browser."""
    conf = DatabaseToolConf(session)
    try:
        redirect = _Login(request, conf, BrowserSession(request), CookieJar(request)
                          ).get_redirect_object(launch_url)
    except OIDCException as exc:
        iss = request.get_param("iss")
        if str(exc) == "Could not find registration details":
            client_id = request.get_param("client_id")
            raise LaunchRefused("iss", f"no platform is registered with issuer {iss!r} and "
                                f"client id {client_id!r}: an instructor registers it on the LMS "
                                "page" if client_id else
                                f"no single platform is registered with issuer {iss!r} (the "
                                "login names no client id): an instructor registers it on the "
                                "LMS page") from exc
        raise LaunchRefused("login", str(exc)) from exc
    deployment = request.get_param("lti_deployment_id")
    if deployment and not registry.has_deployment(session, conf.platform, deployment):
        raise LaunchRefused("deployment", f"deployment id {deployment!r} is not registered "
                            "for this platform: add it on the LMS page")
    return LoginStart(redirect.get_redirect_url(), list(request.outgoing))


@dataclass
class Launch:
    """A launch that passed every check."""

    platform: LtiPlatform
    claims: dict[str, t.Any]
    spent_cookies: list[str] = field(default_factory=list)
    """The login's state and nonce cookies, to delete."""

    @property
    def message_type(self) -> str:
        return str(self.claims.get(CLAIM + "message_type", ""))

    @property
    def deployment_id(self) -> str:
        return str(self.claims.get(CLAIM + "deployment_id", ""))


def accept_launch(session: Session, request: LtiRequest) -> Launch:
    """Check the posted id_token and state (verify.py) and record its nonce as used (flushed:
    a concurrent replay fails on the nonce's key at commit). Raises LaunchRefused."""
    launch = VerifiedLaunch(request, DatabaseToolConf(session),
                            session_service=BrowserSession(request),
                            cookie_service=CookieJar(request))
    launch.validate()
    claims = dict(launch.get_launch_data())
    expires = max(int(claims["exp"]), 0) + SKEW_SECONDS
    session.execute(delete(LtiNonce).where(LtiNonce.expires_at < utcnow()))
    try:
        with session.begin_nested():
            session.add(LtiNonce(nonce=claims["nonce"],
                                 expires_at=_from_timestamp(expires)))
    except IntegrityError as exc:
        raise LaunchRefused("nonce", "this launch was already used (a replay): launch again "
                            "from the LMS") from exc
    state = request.get_param("state")
    return Launch(platform=launch.platform, claims=claims,
                  spent_cookies=[f"lti1p3-{state}", f"lti1p3-nonce-{claims['nonce']}"])


def _from_timestamp(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Landing:
    """Where a launch leads: the user, and `link` (None for deep linking)."""

    user: User
    context: LtiContext | None
    link: LtiResourceLink | None
    sync_roster: bool = False
    """An instructor's launch found the course's roster stale: send its sync after the commit
    (`Dispatcher.send_roster_sync(context.id)`)."""


def land(session: Session, launch: Launch) -> Landing:
    """The launch's account, course and link stored (flushed); an instructor's launch runs the
    post-launch hook."""
    user, made = account_for_launch(session, launch.claims)
    context = _store_context(session, launch)
    link = None
    if launch.message_type != DEEP_LINKING:
        link = _store_link(session, launch, context)
        if made and link.assignment_id is not None:
            outbox.touch(session, link.assignment_id, [user.id])
    sync = False
    if user.role == Role.INSTRUCTOR and context is not None:
        sync = bool(after_instructor_launch(session, context))
    return Landing(user=user, context=context, link=link, sync_roster=sync)


def _store_context(session: Session, launch: Launch) -> LtiContext | None:
    claim = launch.claims.get(CLAIM + "context") or {}
    if not isinstance(claim, dict) or not claim.get("id"):
        return None
    context = session.scalar(select(LtiContext).where(
        LtiContext.platform_id == launch.platform.id,
        LtiContext.context_id == str(claim["id"])))
    if context is None:
        context = LtiContext(platform_id=launch.platform.id, context_id=str(claim["id"]))
        session.add(context)
    context.title = str(claim.get("title") or claim.get("label") or context.title or "")[:255]
    nrps = launch.claims.get(NRPS) or {}
    ags = launch.claims.get(AGS) or {}
    if isinstance(nrps, dict) and nrps.get("context_memberships_url"):
        context.memberships_url = str(nrps["context_memberships_url"])
    if isinstance(ags, dict) and ags.get("lineitems"):
        context.lineitems_url = str(ags["lineitems"])
    session.flush()
    return context


def _store_link(session: Session, launch: Launch, context: LtiContext | None
                ) -> LtiResourceLink:
    claim = launch.claims.get(CLAIM + "resource_link") or {}
    link_id = str(claim.get("id"))
    link = session.scalar(select(LtiResourceLink).where(
        LtiResourceLink.platform_id == launch.platform.id,
        LtiResourceLink.resource_link_id == link_id))
    if link is None:
        link = LtiResourceLink(platform_id=launch.platform.id, resource_link_id=link_id)
        session.add(link)
    link.context_pk = context.id if context is not None else link.context_pk
    link.title = str(claim.get("title") or link.title or "")[:255]
    ags = launch.claims.get(AGS) or {}
    if isinstance(ags, dict) and ags.get("lineitem"):
        link.lineitem_url = str(ags["lineitem"])
    custom = launch.claims.get(CLAIM + "custom") or {}
    slug = custom.get(ASSIGNMENT_PARAM) if isinstance(custom, dict) else None
    if link.assignment_id is None and slug:
        assignment = crud.get_assignment(session, slug=str(slug))
        if assignment is not None:  # placed by deep linking: bound from now on
            link.assignment_id = assignment.id
            session.flush()
            outbox.touch(session, assignment.id)  # scores given before go to its line item
    session.flush()
    return link


def bind_link(session: Session, link: LtiResourceLink, assignment: Assignment) -> None:
    """An instructor's choice for a link the LMS placed without deep linking."""
    link.assignment_id = assignment.id
    session.flush()
    outbox.touch(session, assignment.id)  # scores given before go to its line item


def after_instructor_launch(session: Session, context: LtiContext) -> bool:
    """Called after each launch by an instructor into `context`, inside the launch's
    transaction (committed with the sign-in): whether the course's NRPS roster sync is due (at
    most hourly; marked as done now, roster.sync_if_stale). The caller sends it after the
    commit; the launch never waits for the LMS's roster."""
    return roster.sync_if_stale(session, context)
