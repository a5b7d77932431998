"""The LMS side of LTI Advantage for the tests: a platform's token endpoint, AGS line items and
scores, and NRPS memberships, served over real HTTP (uvicorn in a thread).

The token endpoint is PyPI's `lti1p3platform` (`LTI1P3PlatformConfAbstract.get_access_token`:
it checks the client assertion's signature against the tool's JWKS, fetched from the tool's key-set
URL, and signs the access token), with what it does not check added here: the assertion's `aud`
(the token URL), `iss` = `sub` = client_id, and a `jti` used once. Tokens are checked on every
service call (`validate_token`: signature, issuer, scope) and expire after `token_life` seconds.
Line items can be listed, made and read; every score taken is recorded in order, and a
score is refused (409) unless its timestamp is after the last one taken for that user, or (400)
when its progress values are not AGS's, so a tool that sends out of order fails here. NRPS
pages (`Link: <...>; rel="next"`) have mixed-case URLs, so a client that lower-cases them gets
404. `mode` makes the whole platform answer 500 or 429 (with Retry-After); `stop()` and
`start()` take it off the network and back on the same port.

`services_router(state)` is an APIRouter factory, so a test platform that also launches (deep
linking, the browser flow) can include it in its own app."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt as pyjwt
import uvicorn
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from joserfc.jwk import RSAKey
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.score import ActivityProgress, GradeProgress

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


@dataclass
class PlatformState:
    """What the platform knows and what it received; tests read and set it directly."""

    issuer: str
    client_id: str
    base_url: str
    tool_jwks_url: str
    mode: str = "up"
    """up, 500 or 429 (with `retry_after` seconds)."""
    retry_after: int = 1
    token_life: int = 3600
    page_size: int = 100
    token_requests: int = 0
    jtis: set[str] = field(default_factory=set)
    refusals: list[str] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)
    lineitems: dict[str, dict[str, Any]] = field(default_factory=dict)
    scores: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, private=True))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def lineitems_url(self, context_id: str) -> str:
        return f"{self.base_url}/{context_id}/LineItems"

    def memberships_url(self, context_id: str) -> str:
        return f"{self.base_url}/{context_id}/Memberships"

    def add_lineitem(self, context_id: str, item: dict[str, Any]) -> str:
        """A line item of the course (as a deep-linking answer's lineItem makes one); its URL."""
        url = f"{self.lineitems_url(context_id)}/{uuid.uuid4().hex[:8]}"
        with self.lock:
            self.lineitems[url] = {**item, "id": url}
        return url

    def scores_of(self, lineitem_url: str) -> list[dict[str, Any]]:
        with self.lock:
            return [s for url, s in self.scores if url == lineitem_url]


class TestPlatformConf(LTI1P3PlatformConfAbstract):
    """lti1p3platform's platform, registered with the tool under test."""

    def init_platform_config(self, **kwargs: Any) -> None:
        state: PlatformState = kwargs["state"]
        self._registration = (
            Registration().set_iss(state.issuer).set_client_id(state.client_id)
            .set_tool_key_set_url(state.tool_jwks_url)
            .set_platform_private_key(state.key.as_pem(private=True).decode())
            .set_platform_public_key(state.key.as_pem(private=False).decode()))

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration


def services_router(state: PlatformState) -> APIRouter:
    """Token, AGS and NRPS endpoints over `state`."""
    router = APIRouter()
    conf = TestPlatformConf(state=state)
    _token_route(router, state, conf)
    _ags_routes(router, state, conf)
    _nrps_route(router, state, conf)
    return router


def _token_route(router: APIRouter, state: PlatformState, conf: TestPlatformConf) -> None:
    @router.post("/token")
    async def token(request: Request) -> Response:
        form = dict(await request.form())
        try:
            answer = dict(conf.get_access_token(form))  # the library's checks and token
            claims = pyjwt.decode(form["client_assertion"], options={"verify_signature": False})
            problem = _assertion_problem(state, claims)
        except Exception as exc:  # noqa: BLE001 - the library's refusals: the tool is at fault
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            state.refusals.append(problem)
            return JSONResponse({"error": "invalid_client", "error_description": problem}, 400)
        with state.lock:
            state.token_requests += 1
            state.tokens[answer["access_token"]] = time.monotonic() + state.token_life
        return JSONResponse({**answer, "expires_in": state.token_life})


def _ags_routes(router: APIRouter, state: PlatformState, conf: TestPlatformConf) -> None:
    @router.get("/{context_id}/LineItems")
    def list_lineitems(context_id: str, request: Request, resource_link_id: str = "") -> Response:
        _authorize(state, conf, request, AGS + "lineitem")
        prefix = state.lineitems_url(context_id) + "/"
        with state.lock:
            items = [i for url, i in state.lineitems.items() if url.startswith(prefix)
                     and (not resource_link_id or i.get("resourceLinkId") == resource_link_id)]
        return JSONResponse(items)

    @router.post("/{context_id}/LineItems")
    async def create_lineitem(context_id: str, request: Request) -> Response:
        _authorize(state, conf, request, AGS + "lineitem")
        body = await request.json()
        url = f"{state.lineitems_url(context_id)}/{uuid.uuid4().hex[:8]}"
        item = {**body, "id": url}
        with state.lock:
            state.lineitems[url] = item
        return JSONResponse(item, 201)

    @router.get("/{context_id}/LineItems/{item}")
    def get_lineitem(context_id: str, item: str, request: Request) -> Response:
        _authorize(state, conf, request, AGS + "lineitem")
        found = state.lineitems.get(f"{state.lineitems_url(context_id)}/{item}")
        return JSONResponse(found) if found else JSONResponse({"error": "no such line item"}, 404)

    @router.post("/{context_id}/LineItems/{item}/scores")
    async def post_score(context_id: str, item: str, request: Request) -> Response:
        _authorize(state, conf, request, AGS + "score")
        if request.headers.get("content-type", "").split(";")[0] != SCORE_TYPE:
            return JSONResponse({"error": f"Content-Type must be {SCORE_TYPE}"}, 415)
        url = f"{state.lineitems_url(context_id)}/{item}"
        score = await request.json()
        with state.lock:
            if url not in state.lineitems:
                return JSONResponse({"error": "no such line item"}, 404)
            problem = _score_problem(score, [s for u, s in state.scores if u == url])
            if problem:
                state.refusals.append(problem)
                return JSONResponse({"error": problem}, 409 if "timestamp" in problem else 400)
            state.scores.append((url, score))
        return Response(status_code=204)


def _nrps_route(router: APIRouter, state: PlatformState, conf: TestPlatformConf) -> None:
    @router.get("/{context_id}/Memberships")
    def memberships(context_id: str, request: Request, Page: int = 1) -> Response:
        _authorize(state, conf, request, NRPS)
        members = state.members.get(context_id)
        if members is None:
            return JSONResponse({"error": "no such context"}, 404)
        size = state.page_size
        page = members[(Page - 1) * size: Page * size]
        headers = {}
        if Page * size < len(members):
            headers["Link"] = f'<{state.memberships_url(context_id)}?Page={Page + 1}>; rel="next"'
        return JSONResponse({"id": str(request.url), "context": {"id": context_id},
                             "members": page}, headers=headers)


def _score_problem(score: dict[str, Any], earlier: list[dict[str, Any]]) -> str:
    """What AGS's score+json forbids (lti1p3platform's progress values), and a timestamp not
    after the last one taken for the user: the platform keeps the newest."""
    if not isinstance(score.get("userId"), str):
        return "userId missing"
    if score.get("activityProgress") not in {p.value for p in ActivityProgress}:
        return f"activityProgress {score.get('activityProgress')!r} is not AGS's"
    if score.get("gradingProgress") not in {p.value for p in GradeProgress}:
        return f"gradingProgress {score.get('gradingProgress')!r} is not AGS's"
    if "scoreGiven" in score and not isinstance(score.get("scoreMaximum"), int | float):
        return "scoreGiven without scoreMaximum"
    try:
        stamp = datetime.fromisoformat(score["timestamp"])
    except (KeyError, TypeError, ValueError):
        return "timestamp missing or not ISO 8601"
    if stamp.tzinfo is None:
        return "timestamp without a time zone"
    last = [datetime.fromisoformat(s["timestamp"]) for s in earlier
            if s["userId"] == score["userId"]]
    if last and stamp <= max(last):
        return f"timestamp {score['timestamp']} is not after the last one taken"
    return ""


def _assertion_problem(state: PlatformState, claims: dict[str, Any]) -> str:
    """What lti1p3platform leaves unchecked in a client assertion."""
    if claims.get("iss") != state.client_id or claims.get("sub") != state.client_id:
        return "iss and sub must be the client_id"
    aud = claims.get("aud")
    if state.token_url not in (aud if isinstance(aud, list) else [aud]):
        return f"aud must be {state.token_url}"
    jti = claims.get("jti")
    if not jti:
        return "jti missing"
    with state.lock:
        if jti in state.jtis:
            return f"jti {jti} was used before: a replayed assertion"
        state.jtis.add(jti)
    return ""


def _authorize(state: PlatformState, conf: TestPlatformConf, request: Request,
               scope: str) -> None:
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip()
    with state.lock:
        expires = state.tokens.get(token)
    try:
        valid = expires is not None and expires > time.monotonic() and \
            conf.validate_token(token, allowed_scopes=[scope])
    except Exception:  # noqa: BLE001 - a forged or foreign token
        valid = False
    if not valid:
        raise HTTPException(401, "invalid or expired token")


def platform_app(state: PlatformState) -> FastAPI:
    """An app of the services alone, answering as `state.mode` says."""
    app = FastAPI()
    app.include_router(services_router(state))
    add_outage_switch(app, state)
    return app


def add_outage_switch(app: FastAPI, state: PlatformState) -> None:
    """Every request of `app` answers 500, or 429 with Retry-After, while `state.mode` says."""
    @app.middleware("http")
    async def outage(request: Request, call_next: Any) -> Response:
        if state.mode == "500":
            return JSONResponse({"error": "internal error (test outage)"}, 500)
        if state.mode == "429":
            return JSONResponse({"error": "slow down"}, 429,
                                headers={"Retry-After": str(state.retry_after)})
        return await call_next(request)


class Server:
    """uvicorn in a thread on a fixed port: `stop()` takes the app off the network (connections
    refused), `start()` puts it back on the same port."""

    def __init__(self, app: Any, port: int) -> None:
        self.app, self.port = app, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the test platform did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = self._thread = None
