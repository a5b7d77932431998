"""pylti1p3's framework adapter, without a framework: pylti1p3 ships Flask and Django adapters
only, and asks other frameworks for a request (its parameters, its cookies, whether it came over
TLS), a cookie service and a session store. Here they are plain objects the page routes fill
from the request and read back into the response, so this module needs no FastAPI.

What the OIDC login leaves in the browser (cookies, five minutes):
- `lti1p3-state-<uuid>` = the state: the launch must carry the same state and come from the
  browser holding the cookie (state bound to the browser);
- `lti1p3-nonce-<nonce>`: the launch's nonce must be one this browser was given.
A launch, once accepted, records its nonce in `lti_nonces` (pylti1p3 does not: launch.py), so the
same id_token posted again is refused. Launch data is not kept (we act on the launch at once).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from pylti1p3.cookie import CookieService
from pylti1p3.deployment import Deployment
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.registration import Registration
from pylti1p3.request import Request
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfAbstract
from sqlalchemy.orm import Session

from submissions_api.lms import keys, registry
from submissions_api.store.models_lms import LtiPlatform

COOKIE_PREFIX = "lti1p3-"
LOGIN_SECONDS = 300
"""How long a started login waits for its launch (state and nonce cookies)."""


@dataclass
class CookieToSet:
    name: str
    value: str
    max_age: int | None
    """None: delete the cookie."""


@dataclass
class LtiRequest(Request):
    """One HTTP request as pylti1p3 sees it: query or form parameters, cookies, TLS."""

    params: t.Mapping[str, str]
    cookies: t.Mapping[str, str]
    secure: bool
    outgoing: list[CookieToSet] = field(default_factory=list)
    """Cookies for the response (the route sets them with the right SameSite)."""

    @property
    def session(self):  # pragma: no cover - pylti1p3 asks only its own framework adapters
        raise NotImplementedError("sessions live in cookies here")

    def is_secure(self) -> bool:
        return self.secure

    def get_param(self, key: str) -> str:
        value = self.params.get(key, "")
        return value if isinstance(value, str) else ""


class CookieJar(CookieService):
    """pylti1p3's cookie service: reads the request's cookies, queues the response's."""

    def __init__(self, request: LtiRequest) -> None:
        self._request = request

    def get_cookie(self, name: str) -> str | None:
        return self._request.cookies.get(COOKIE_PREFIX + name)

    def set_cookie(self, name: str, value: str | int, exp: int | None = LOGIN_SECONDS) -> None:
        self._request.outgoing.append(
            CookieToSet(COOKIE_PREFIX + name, str(value), exp or LOGIN_SECONDS))


class CookieStorage(LaunchDataStorage[t.Any]):
    """pylti1p3's session store, kept in the browser's cookies: it holds only the nonces the
    login gave this browser (keys are already prefixed `lti1p3-` by the session service)."""

    def __init__(self, request: LtiRequest) -> None:
        super().__init__()
        self._lti_request = request

    def get_session_cookie_name(self) -> str | None:
        return None  # no server-side session to name

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str) -> t.Any:
        return self._lti_request.cookies.get(key)

    def set_value(self, key: str, value: t.Any, exp: int | None = None) -> None:
        self._lti_request.outgoing.append(CookieToSet(key, "1", exp or LOGIN_SECONDS))

    def check_value(self, key: str) -> bool:
        return bool(self._lti_request.cookies.get(key))


class BrowserSession(SessionService):
    """pylti1p3's session service over `CookieStorage`. It keeps no launch data, and never
    treats a state as "already valid" for a repeated id_token (pylti1p3's shortcut that would
    let a replay skip the state cookie): the cookie is checked on every launch."""

    def __init__(self, request: LtiRequest) -> None:
        self.data_storage = CookieStorage(request)
        self._launch_data_lifetime = LOGIN_SECONDS

    def save_launch_data(self, key: str, jwt_body: t.Any) -> None:
        return None

    def set_state_valid(self, state: str, id_token_hash: str) -> None:
        return None

    def check_state_is_valid(self, state: str, id_token_hash: str) -> bool:
        return False


class ToolRegistration(Registration):
    """pylti1p3's registration of one platform, signing with the tool key of keys.py (whose
    kid is ours, not pylti1p3's thumbprint), loaded only when something is signed (a launch
    needs the platform's keys, not ours)."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self._session = session
        self._key: t.Any = None

    def _tool_key(self) -> t.Any:
        if self._key is None:
            self._key = keys.signing_key(self._session)
        return self._key

    def get_kid(self) -> str | None:
        return str(self._tool_key().kid)

    def get_tool_private_key(self) -> str:
        return self._tool_key().as_pem(private=True).decode()


class DatabaseToolConf(ToolConfAbstract[LtiRequest]):
    """pylti1p3's tool configuration read from the registered platforms (registry.py). Every
    issuer may have several client ids, so the lookups go by (issuer, client id)."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.platform: LtiPlatform | None = None
        """The platform the last lookup found."""

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def find_registration_by_issuer(self, iss: str, *args, **kwargs) -> Registration | None:
        return self.find_registration_by_params(iss, "", *args, **kwargs)

    def find_registration_by_params(self, iss: str, client_id: str, *args, **kwargs
                                    ) -> Registration | None:
        platform = registry.find_platform(self.session, iss, client_id or None)
        if platform is None:
            return None
        self.platform = platform
        return (ToolRegistration(self.session)
                .set_issuer(platform.issuer).set_client_id(platform.client_id)
                .set_auth_login_url(platform.auth_login_url)
                .set_auth_token_url(platform.auth_token_url)
                .set_auth_audience(platform.auth_audience or None)
                .set_key_set_url(platform.key_set_url))

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, "")

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str,
                                  *args, **kwargs) -> Deployment | None:
        platform = registry.find_platform(self.session, iss, client_id or None)
        if platform is None or not registry.has_deployment(self.session, platform,
                                                           deployment_id):
            return None
        return Deployment().set_deployment_id(deployment_id)
