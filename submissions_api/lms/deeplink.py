"""Deep Linking: an instructor places one of our assignments in a course from the LMS's own
picker. The deep-linking launch shows our picker (pages/lti.py); what the launch said (the
platform, deployment, return URL and opaque `data`) travels in the picker's form as a short-lived
JWT signed with the tool key, so nothing is stored and nothing in the form can be altered. The
choice goes back to the LMS as an LtiDeepLinkingResponse signed with the tool key (pylti1p3's
DeepLink): one ltiResourceLink carrying the assignment's slug as a custom parameter (the later
launch of that link binds it, launch.py) and a line item with the assignment's maximum score
(automatic and manual points: what the scores sent are out of, lms/passback.py; tagged as the
sender tags the line items it makes)."""

from __future__ import annotations

import time
import typing as t
from dataclasses import dataclass

from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem
from sqlalchemy.orm import Session

from submissions_api.errors import Forbidden, Refused
from submissions_api.grades import total_max_score
from submissions_api.lms import keys
from submissions_api.lms.adapter import DatabaseToolConf
from submissions_api.lms.launch import ASSIGNMENT_PARAM, Launch
from submissions_api.lms.registry import get_platform
from submissions_api.store.models import Assignment, User

SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
PICKER_SECONDS = 3600
"""How long the picker stays usable after the launch that showed it."""


@dataclass(frozen=True)
class Picker:
    """A deep-linking launch waiting for the instructor's choice."""

    platform_id: int
    deployment_id: str
    settings: dict[str, t.Any]
    user_id: int

    @property
    def return_url(self) -> str:
        return str(self.settings.get("deep_link_return_url", ""))


def picker_for(launch: Launch, user: User) -> Picker:
    settings = launch.claims.get(SETTINGS)
    if not isinstance(settings, dict) or not settings.get("deep_link_return_url"):
        raise Refused("the deep-linking launch has no return URL (deep_linking_settings)")
    accepted = settings.get("accept_types") or []
    if "ltiResourceLink" not in accepted:
        raise Refused(f"the LMS accepts {accepted!r} here, not an LTI resource link: add the "
                      "tool from the assignment or module picker instead")
    return Picker(launch.platform.id, launch.deployment_id, dict(settings), user.id)


def seal(session: Session, picker: Picker) -> str:
    """The picker as a signed JWT for its form."""
    now = int(time.time())
    claims = {"pid": picker.platform_id, "dep": picker.deployment_id, "dls": picker.settings,
              "uid": picker.user_id, "iat": now, "exp": now + PICKER_SECONDS}
    key = keys.signing_key(session)
    return jose_jwt.encode({"alg": keys.ALG, "kid": key.kid}, claims, key)


def unseal(session: Session, token: str, user: User) -> Picker:
    """The picker a form carried, if we signed it, it is fresh, and `user` was shown it."""
    try:
        data = jose_jwt.decode(token, keys.signing_key(session), algorithms=[keys.ALG])
        jose_jwt.JWTClaimsRegistry(exp={"essential": True}).validate(data.claims)
    except (JoseError, ValueError) as exc:
        raise Refused("this choice has expired or was altered: open the LMS's picker "
                      "again") from exc
    claims = data.claims
    if claims.get("uid") != user.id:
        raise Forbidden("this picker was opened by someone else")
    return Picker(int(claims["pid"]), str(claims["dep"]), dict(claims["dls"]), user.id)


def response_jwt(session: Session, picker: Picker, assignment: Assignment,
                 launch_url: str) -> str:
    """The signed LtiDeepLinkingResponse placing `assignment`."""
    platform = get_platform(session, picker.platform_id)
    registration = DatabaseToolConf(session).find_registration_by_params(
        platform.issuer, platform.client_id)
    lineitem = (LineItem().set_label(assignment.title or assignment.slug)
                .set_score_maximum(total_max_score(assignment))  # what the scores are out of
                .set_resource_id(assignment.slug).set_tag(f"mlpgrade:{assignment.slug}"))
    resource = (DeepLinkResource().set_url(launch_url)
                .set_title(assignment.title or assignment.slug)
                .set_custom_params({ASSIGNMENT_PARAM: assignment.slug})
                .set_lineitem(lineitem))
    return DeepLink(registration, picker.deployment_id, picker.settings
                    ).get_response_jwt([resource])
