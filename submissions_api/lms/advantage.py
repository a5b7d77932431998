"""The tool's client of a platform's LTI Advantage services: the client-credentials token (a
signed JWT assertion, RFC 7523, as the IMS Security Framework asks), AGS line items and scores,
and NRPS membership pages. HTTP only; what to send is lms/passback.py's and lms/roster.py's.

A failure is a `PlatformError`: `transient` (5xx, 429, the connection) is retried soon (after the
platform's Retry-After when it gives one); any other answer is kept for staff and retried late."""

from __future__ import annotations

import email.utils
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from submissions_api.lms.keys import ALG

SCOPES = ("https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
          "https://purl.imsglobal.org/spec/lti-ags/scope/score",
          "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly")
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEMBERS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TIMEOUT = 15.0
EARLY = 30.0
"""A cached token is renewed this many seconds before the platform says it expires."""


class PlatformError(Exception):
    """The platform did not do what we asked: `message` is its answer, for staff."""

    def __init__(self, message: str, *, transient: bool, retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message, self.transient = message, transient
        self.retry_after, self.status = retry_after, status


@dataclass(frozen=True)
class Registration:
    """What the tool needs of a registered platform to call its services."""

    client_id: str
    token_url: str
    audience: str = ""
    """The assertion's `aud` when not the token URL (Moodle, Blackboard)."""


_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_tokens_guard = threading.Lock()


def client_assertion(reg: Registration, key: RSAKey, *, lifetime: int = 300) -> str:
    """The signed JWT the token endpoint checks against the tool's JWKS: iss = sub = client_id,
    aud = the token URL (or the platform's audience), a short life and a unique jti."""
    now = int(time.time())
    claims = {"iss": reg.client_id, "sub": reg.client_id, "aud": reg.audience or reg.token_url,
              "iat": now, "exp": now + lifetime, "jti": uuid.uuid4().hex}
    return jwt.encode({"alg": ALG, "kid": key.kid, "typ": "JWT"}, claims, key)


def access_token(http: httpx.Client, reg: Registration, key: RSAKey) -> str:
    """A bearer token for the services (every scope the tool uses), from this process's cache
    until shortly before it expires."""
    cache_key = (reg.token_url, reg.client_id)
    with _tokens_guard:
        hit = _tokens.get(cache_key)
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    answer = _call(http, "POST", reg.token_url, data={
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(reg, key), "scope": " ".join(SCOPES)})
    body = _json(answer)
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise PlatformError(f"the token endpoint answered no access_token: {answer.text[:300]}",
                            transient=False)
    life = float(body.get("expires_in") or 3600)
    with _tokens_guard:
        _tokens[cache_key] = (token, time.monotonic() + max(life - EARLY, life / 2))
    return token


def forget_token(reg: Registration) -> None:
    """Drop the cached token (the platform refused it: revoked or expired early)."""
    with _tokens_guard:
        _tokens.pop((reg.token_url, reg.client_id), None)


def authorized(http: httpx.Client, reg: Registration, key: RSAKey, method: str, url: str, *,
               accept: str, **kwargs: Any) -> httpx.Response:
    """A service call with the bearer token; a 401 renews the token and asks once more."""
    extra = kwargs.pop("headers", {})
    for attempt in (1, 2):
        headers = {"Authorization": f"Bearer {access_token(http, reg, key)}", "Accept": accept,
                   **extra}
        try:
            return _call(http, method, url, headers=headers, **kwargs)
        except PlatformError as exc:
            if exc.status != 401 or attempt == 2:
                raise
            forget_token(reg)
    raise AssertionError("unreachable")  # pragma: no cover


def _call(http: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        answer = http.request(method, url, timeout=TIMEOUT, **kwargs)
    except httpx.HTTPError as exc:
        raise PlatformError(f"{method} {url}: {type(exc).__name__}: {exc}",
                            transient=True) from exc
    if answer.status_code < 400:
        return answer
    status = answer.status_code
    message = f"{method} {url} answered {status}: {answer.text[:500]}"
    raise PlatformError(message, status=status, transient=status == 429 or status >= 500,
                        retry_after=retry_after(answer.headers.get("Retry-After")))


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError as exc:
        raise PlatformError(f"{answer.request.url} answered {answer.status_code} with no JSON: "
                            f"{answer.text[:300]}", transient=False) from exc
    if not isinstance(body, dict):
        raise PlatformError(f"{answer.request.url} answered JSON that is not an object",
                            transient=False)
    return body


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


# -- AGS -----------------------------------------------------------------------------------------

def scores_url(lineitem_url: str) -> str:
    """The line item's scores endpoint: `/scores` after its path, before any query."""
    path, sep, query = lineitem_url.partition("?")
    return f"{path.rstrip('/')}/scores{sep}{query}"


def find_or_create_lineitem(http: httpx.Client, reg: Registration, key: RSAKey, *,
                            lineitems_url: str, resource_link_id: str, tag: str, label: str,
                            score_maximum: float) -> str:
    """The URL of the line item of a resource link in the context's container: the one the
    platform has for this link and tag, else a new one out of `score_maximum`."""
    answer = authorized(http, reg, key, "GET", lineitems_url, accept=LINEITEMS_TYPE,
                        params={"resource_link_id": resource_link_id})
    try:
        items = answer.json()
    except ValueError:
        items = []
    for item in items if isinstance(items, list) else []:
        if (isinstance(item, dict) and item.get("resourceLinkId") == resource_link_id
                and item.get("tag", tag) == tag and isinstance(item.get("id"), str)):
            return item["id"]
    made = authorized(http, reg, key, "POST", lineitems_url, accept=LINEITEM_TYPE,
                      headers={"Content-Type": LINEITEM_TYPE},
                      json={"scoreMaximum": score_maximum, "label": label,
                            "resourceLinkId": resource_link_id, "tag": tag})
    url = _json(made).get("id")
    if not isinstance(url, str) or not url:
        raise PlatformError(f"the new line item has no id: {made.text[:300]}", transient=False)
    return url


def post_score(http: httpx.Client, reg: Registration, key: RSAKey, *, lineitem_url: str,
               score: dict[str, Any]) -> None:
    """POST one score (AGS's score+json) to the line item."""
    authorized(http, reg, key, "POST", scores_url(lineitem_url), accept="application/json",
               headers={"Content-Type": SCORE_TYPE}, json=score)


# -- NRPS ----------------------------------------------------------------------------------------

def membership_pages(http: httpx.Client, reg: Registration, key: RSAKey, url: str,
                     *, max_pages: int = 1000) -> list[dict[str, Any]]:
    """Every member of a context, following the `Link: <...>; rel="next"` pages with their URL
    exactly as given (some platforms' ids are case-sensitive)."""
    members: list[dict[str, Any]] = []
    seen: set[str] = set()
    next_url: str | None = url
    while next_url and next_url not in seen and len(seen) < max_pages:
        seen.add(next_url)
        answer = authorized(http, reg, key, "GET", next_url, accept=MEMBERS_TYPE)
        page = _json(answer).get("members", [])
        members.extend(m for m in page if isinstance(m, dict))
        next_url = next_link(answer.headers.get_list("link"))
    return members


def next_link(values: list[str]) -> str | None:
    """The `rel="next"` target of Link headers, its case kept."""
    for value in values:
        for part in value.split(","):
            target, _, params = part.strip().partition(";")
            rels = [p.strip() for p in params.split(";")]
            if target.startswith("<") and target.endswith(">") and any(
                    r.replace(" ", "").lower() in ('rel="next"', "rel=next") for r in rels):
                return target[1:-1]
    return None
