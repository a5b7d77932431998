"""Platforms the tool is registered with (an instructor adds each LMS once: `mlpgrade lti add` or
the /staff/lms page), and what an LMS needs to know about the tool: its login, launch and key-set
URLs and a configuration to paste (Canvas's developer-key JSON; Moodle's list of fields)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from submissions_api.errors import Conflict, NotFound, Refused
from submissions_api.store.models_lms import LtiDeployment, LtiPlatform

TOOL_TITLE = "mlpgrade"
TOOL_DESCRIPTION = "Autograder for the 11-785 HW1P1 MyTorch homework"
SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]


@dataclass(frozen=True)
class PlatformFields:
    """What an instructor registers: copied from the LMS's own page for the tool."""

    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    name: str = ""
    auth_audience: str = ""


@dataclass(frozen=True)
class ToolUrls:
    """The tool's side of the registration, under the public URL."""

    base: str

    @property
    def login(self) -> str:
        return f"{self.base}/lti/login"

    @property
    def launch(self) -> str:
        return f"{self.base}/lti/launch"

    @property
    def deep_linking(self) -> str:
        """Deep-linking requests come to the launch URL (the message type tells them apart)."""
        return f"{self.base}/lti/launch"

    @property
    def jwks(self) -> str:
        return f"{self.base}/lti/jwks"


def tool_urls(base_url: str) -> ToolUrls:
    return ToolUrls(base_url.rstrip("/"))


def _check_url(label: str, url: str) -> str:
    url = url.strip()
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise Refused(f"{label} must be an http(s) URL, not {url!r}: copy it from the LMS's "
                      "page for the tool")
    return url


def _check(fields: PlatformFields) -> PlatformFields:
    for label, value in (("issuer", fields.issuer), ("client id", fields.client_id)):
        if not value.strip():
            raise Refused(f"the {label} is empty: copy it from the LMS's page for the tool")
    deployments = tuple(d.strip() for d in fields.deployment_ids if d.strip())
    if not deployments:
        raise Refused("give at least one deployment id (Canvas shows it beside the developer "
                      "key once the tool is installed in the course; Moodle on the tool's "
                      "details)")
    return PlatformFields(
        issuer=fields.issuer.strip(), client_id=fields.client_id.strip(),
        deployment_ids=deployments,
        auth_login_url=_check_url("the authentication (login) URL", fields.auth_login_url),
        auth_token_url=_check_url("the access token URL", fields.auth_token_url),
        key_set_url=_check_url("the public keyset URL", fields.key_set_url),
        name=fields.name.strip(), auth_audience=fields.auth_audience.strip())


def add_platform(session: Session, fields: PlatformFields) -> LtiPlatform:
    """Register a platform (flushed, not committed); the same issuer + client id twice is a
    conflict."""
    fields = _check(fields)
    if find_platform(session, fields.issuer, fields.client_id) is not None:
        raise Conflict(f"a platform with issuer {fields.issuer!r} and client id "
                       f"{fields.client_id!r} is already registered: remove it first")
    platform = LtiPlatform(
        name=fields.name or urlparse(fields.issuer).netloc or fields.issuer,
        issuer=fields.issuer, client_id=fields.client_id, auth_login_url=fields.auth_login_url,
        auth_token_url=fields.auth_token_url, key_set_url=fields.key_set_url,
        auth_audience=fields.auth_audience)
    platform.deployments = [LtiDeployment(deployment_id=d) for d in fields.deployment_ids]
    session.add(platform)
    session.flush()
    return platform


def list_platforms(session: Session) -> Sequence[LtiPlatform]:
    return session.scalars(select(LtiPlatform).options(selectinload(LtiPlatform.deployments))
                           .order_by(LtiPlatform.id)).all()


def get_platform(session: Session, platform_id: int) -> LtiPlatform:
    platform = session.get(LtiPlatform, platform_id)
    if platform is None:
        raise NotFound("LTI platform")
    return platform


def remove_platform(session: Session, platform_id: int) -> LtiPlatform:
    """Forget a platform, its deployments, contexts and links (accounts made by its launches
    stay, with their submissions)."""
    platform = get_platform(session, platform_id)
    session.delete(platform)
    session.flush()
    return platform


def find_platform(session: Session, issuer: str, client_id: str | None) -> LtiPlatform | None:
    """The platform of `issuer` (and `client_id` when given; an issuer registered once is found
    without it, as LTI lets a login initiation omit it)."""
    query = select(LtiPlatform).where(LtiPlatform.issuer == issuer)
    if client_id:
        return session.scalar(query.where(LtiPlatform.client_id == client_id))
    rows = session.scalars(query.limit(2)).all()
    return rows[0] if len(rows) == 1 else None


def has_deployment(session: Session, platform: LtiPlatform, deployment_id: str) -> bool:
    return session.scalar(select(LtiDeployment.id).where(
        LtiDeployment.platform_id == platform.id,
        LtiDeployment.deployment_id == deployment_id)) is not None


def canvas_config(urls: ToolUrls) -> dict[str, Any]:
    """Canvas: Admin → Developer Keys → + LTI Key → Method "Paste JSON"."""
    placement = {"text": TOOL_TITLE, "enabled": True, "message_type": "LtiDeepLinkingRequest",
                 "target_link_uri": urls.deep_linking}
    return {
        "title": TOOL_TITLE,
        "description": TOOL_DESCRIPTION,
        "oidc_initiation_url": urls.login,
        "target_link_uri": urls.launch,
        "public_jwk_url": urls.jwks,
        "scopes": SCOPES,
        "extensions": [{
            "platform": "canvas.instructure.com",
            "privacy_level": "public",
            "domain": urlparse(urls.base).netloc,
            "settings": {"placements": [
                {**placement, "placement": "assignment_selection"},
                {**placement, "placement": "link_selection"},
            ]},
        }],
        "custom_fields": {},
        "redirect_uris": [urls.launch],
    }


def moodle_config(urls: ToolUrls) -> list[tuple[str, str]]:
    """Moodle: Site administration → Plugins → External tool → Manage tools → configure a tool
    manually; the fields in the order of Moodle's form."""
    return [
        ("Tool name", TOOL_TITLE),
        ("Tool URL", urls.launch),
        ("LTI version", "LTI 1.3"),
        ("Public key type", "Keyset URL"),
        ("Public keyset", urls.jwks),
        ("Initiate login URL", urls.login),
        ("Redirection URI(s)", urls.launch),
        ("Supports Deep Linking (Content-Item Message)", "yes"),
        ("Content Selection URL", urls.deep_linking),
        ("IMS LTI Assignment and Grade Services", "Use this service for grade sync and column "
                                                  "management"),
        ("IMS LTI Names and Role Provisioning", "Use this service to retrieve members' "
                                                "information as per privacy settings"),
        ("Share launcher's name with tool", "Always"),
        ("Share launcher's email with tool", "Always"),
    ]
