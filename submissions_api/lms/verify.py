"""Every check of an LTI 1.3 launch, each failing closed with the name of the check: pylti1p3's
MessageLaunch does the JOSE and claim checks; this subclass makes the ones it leaves out or
makes loosely (docs/lms.md lists them with the tests that prove each refuses):

- signature: RS256 only (an unsigned `alg: none` token is refused), against the platform's
  current key set, fetched again when the token names an unknown `kid` (rotation, keysets.py);
- iss / aud / azp: the issuer is registered, our client id is in `aud` (pylti1p3 turns PyJWT's
  audience check off), `azp` is our client id when present and required when `aud` has several;
- exp / iat: checked with SKEW_SECONDS of clock skew, an `iat` in the future refused;
- nonce: one this browser was given at login (a cookie), and never used before (launch.py
  records it: pylti1p3 does not);
- state: equal to the state cookie of this browser, on every launch (pylti1p3 lets a repeated
  id_token skip it);
- deployment: registered for the platform; message: type and version 1.3.0.
"""

from __future__ import annotations

import typing as t

import jwt
from pylti1p3.exception import LtiException
from pylti1p3.message_launch import MessageLaunch
from sqlalchemy import select

from submissions_api.lms.adapter import DatabaseToolConf, LtiRequest
from submissions_api.lms.keysets import KEYSETS, KeySetError, has_kid
from submissions_api.store.models_lms import LtiNonce, LtiPlatform

SKEW_SECONDS = 30
ACCEPTED_TYPES = ("LtiResourceLinkRequest", "LtiDeepLinkingRequest")

CHECKS = {
    "state": "the state (this browser started the login)",
    "format": "the id_token's format",
    "nonce": "the nonce (given to this browser, used once)",
    "iss": "the issuer (a registered platform)",
    "aud": "the audience (our client id)",
    "azp": "the authorized party (azp)",
    "signature": "the signature (the platform's current keys)",
    "exp": "the expiry (exp)",
    "iat": "the issue time (iat)",
    "deployment": "the deployment id (registered for the platform)",
    "message": "the message type and LTI version",
    "login": "the login request",
}


class LaunchRefused(Exception):
    """A launch (or login) that failed `check` (a key of CHECKS): nobody is signed in."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message

    @property
    def check_name(self) -> str:
        return CHECKS.get(self.check, self.check)


def _audiences(body: t.Mapping[str, t.Any]) -> list[str]:
    aud = body.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []


class VerifiedLaunch(MessageLaunch):
    """pylti1p3's MessageLaunch with every check made, in order, and named when it fails."""

    _tool_config: DatabaseToolConf
    _request: LtiRequest
    _client_id: str = ""

    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)

    def validate(self) -> VerifiedLaunch:
        self._validated = True  # the steps read the body without validating again
        steps = (("state", self.validate_state), ("format", self.validate_jwt_format),
                 ("nonce", self.validate_nonce), ("iss", self.validate_registration),
                 ("signature", self.validate_jwt_signature),
                 ("deployment", self.validate_deployment), ("message", self.validate_message))
        for check, step in steps:
            try:
                step()
            except LtiException as exc:
                raise LaunchRefused(check, str(exc)) from exc
        return self

    @property
    def platform(self) -> LtiPlatform:
        assert self._tool_config.platform is not None
        return self._tool_config.platform

    def get_client_id(self) -> str:
        return self._client_id or super().get_client_id()

    def validate_state(self) -> VerifiedLaunch:
        state = self._get_request_param("state")
        if not state:
            raise LaunchRefused("state", "the launch carries no state")
        if self._cookie_service.get_cookie(state) != state:
            raise LaunchRefused("state", "this browser did not start this login (its state "
                                "cookie is missing or different): launch again from the LMS, "
                                "and allow cookies for this site")
        return self

    def validate_nonce(self) -> VerifiedLaunch:
        nonce = self._get_jwt_body().get("nonce")
        if not nonce or not isinstance(nonce, str):
            raise LaunchRefused("nonce", "the id_token has no nonce")
        if not self._session_service.check_nonce(nonce):
            raise LaunchRefused("nonce", "this browser was not given that nonce at login")
        if self._tool_config.session.get(LtiNonce, nonce) is not None:
            raise LaunchRefused("nonce", "this launch was already used (a replay): launch "
                                "again from the LMS")
        return self

    def validate_registration(self) -> VerifiedLaunch:
        body = self._get_jwt_body()
        iss = body.get("iss")
        if not iss or not isinstance(iss, str):
            raise LaunchRefused("iss", "the id_token names no issuer")
        audiences = _audiences(body)
        for aud in audiences:
            registration = self._tool_config.find_registration_by_params(iss, aud)
            if registration is not None:
                self._registration, self._client_id = registration, aud
                break
        else:
            session = self._tool_config.session
            if session.scalar(select(LtiPlatform.id).where(LtiPlatform.issuer == iss)) is None:
                raise LaunchRefused("iss", f"no platform is registered with issuer {iss!r}: "
                                    "an instructor adds it on the LMS page (or `mlpgrade lti "
                                    "add`)")
            raise LaunchRefused("aud", f"the id_token is for {audiences!r}, not for a client id "
                                f"registered for {iss!r}")
        azp = body.get("azp")
        if (azp is not None or len(audiences) > 1) and azp != self._client_id:
            raise LaunchRefused("azp", f"the authorized party is {azp!r}, expected our client "
                                f"id {self._client_id!r}")
        return self

    def validate_jwt_signature(self) -> VerifiedLaunch:
        header = self._jwt.get("header", {})
        alg, kid = header.get("alg"), header.get("kid")
        if alg != "RS256":
            raise LaunchRefused("signature", f"the id_token is signed with {alg!r}; only RS256 "
                                "is accepted (an unsigned token never is)")
        if not kid or not isinstance(kid, str):
            raise LaunchRefused("signature", "the id_token names no key (kid)")
        self._registration.set_key_set(self._key_set(kid))
        public_key, _ = self.get_public_key()
        self._decode(public_key)
        return self

    def _key_set(self, kid: str) -> dict[str, t.Any]:
        url = self.platform.key_set_url
        try:
            keys = KEYSETS.get(url)
            if not has_kid(keys, kid):
                keys = KEYSETS.refresh_for_kid(url, kid) or keys
        except KeySetError as exc:
            raise LaunchRefused("signature", str(exc)) from exc
        if not has_kid(keys, kid):
            raise LaunchRefused("signature", f"the id_token is signed with key {kid!r}, which "
                                f"is not in the platform's key set at {url}")
        return keys

    def _decode(self, public_key: str) -> None:
        body = self._get_jwt_body()
        try:
            jwt.decode(self._get_id_token(), public_key, algorithms=["RS256"],
                       audience=self._client_id, issuer=body.get("iss"), leeway=SKEW_SECONDS,
                       options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError as exc:
            raise LaunchRefused("exp", "the id_token has expired") from exc
        except (jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError) as exc:
            raise LaunchRefused("iat", f"the id_token's issue time is not valid ({exc})") from exc
        except jwt.InvalidAudienceError as exc:
            raise LaunchRefused("aud", str(exc)) from exc
        except jwt.InvalidIssuerError as exc:
            raise LaunchRefused("iss", str(exc)) from exc
        except jwt.MissingRequiredClaimError as exc:
            claim = exc.claim if exc.claim in ("exp", "iat") else "format"
            raise LaunchRefused(claim, str(exc)) from exc
        except jwt.InvalidTokenError as exc:
            raise LaunchRefused("signature", f"the id_token's signature does not verify "
                                f"({exc})") from exc

    def validate_message(self) -> VerifiedLaunch:
        body = self._get_jwt_body()
        kind = body.get("https://purl.imsglobal.org/spec/lti/claim/message_type")
        if kind not in ACCEPTED_TYPES:
            raise LaunchRefused("message", f"message type {kind!r} is not one this tool "
                                f"accepts ({', '.join(ACCEPTED_TYPES)})")
        super().validate_message()
        return self

    def validate_deployment(self) -> VerifiedLaunch:
        try:
            super().validate_deployment()
        except LtiException as exc:
            deployment = self._get_jwt_body().get(
                "https://purl.imsglobal.org/spec/lti/claim/deployment_id")
            raise LaunchRefused("deployment", f"deployment id {deployment!r} is not registered "
                                f"for this platform: add it on the LMS page") from exc
        return self
