"""An LTI 1.3 platform for the tests, built on PyPI's `lti1p3platform` (nobody on this project
wrote its launch, signing or deep-linking checks), served over HTTP by uvicorn in a thread with
its own RSA keys. It plays the LMS:

- GET  /jwks                the platform's public keys (`rotate()` replaces the signing key);
- GET  /start?user=&link=   a user clicks a link in the course: the browser goes to the tool's
                            login initiation URL (`&deep=1`: the instructor's "add content" picker);
- GET  /authorize           the OIDC authorization endpoint: gets the tool's login redirect and
                            answers with a form posting the signed id_token to the tool's launch
                            URL (auto-submitted in a browser);
- POST /deep-link-return    verifies the tool's LtiDeepLinkingResponse against the tool's JWKS
                            and places each ltiResourceLink as a new link of the course.

`build_app(platform)` returns a FastAPI app, so the AGS/NRPS services (token endpoint, line
items, scores, memberships) can be included in the same app (`app.include_router(...)`);
`serve_lms(...)` serves one platform that does it all: launch, deep linking (a placed item's
lineItem becomes the link's line item, named in its launches), token, AGS and NRPS
(tests/lms/platform_services.py), with its outage switch, and `stop()`/`start()` on one port.
`mint(...)` signs any id_token directly, for tests of launches a real platform would not send.
"""

from __future__ import annotations

import html
import ipaddress
import json
import threading
import time
import typing as t
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from lti1p3platform.exceptions import LtiException
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration

from tests.api.services import free_port
from tests.lms.platform_services import PlatformState, add_outage_switch, services_router

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
ROLES = {
    "student": [LIS + "membership#Learner"],
    "instructor": [LIS + "membership#Instructor"],
    "ta": [LIS + "membership#Instructor", LIS + "membership/Instructor#TeachingAssistant"],
    "designer": [LIS + "membership#ContentDeveloper"],
}


def new_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass
class Member:
    sub: str
    name: str
    email: str
    role: str
    sourcedid: str = ""


@dataclass
class Placed:
    """A link of the course: placed by hand (`add_link`) or by the tool's deep-linking answer."""

    link_id: str
    title: str
    custom: dict[str, str] = field(default_factory=dict)
    line_item: dict[str, t.Any] | None = None
    lineitem_url: str = ""
    """The line item the platform made of `line_item` (serve_lms), named in the link's launches."""


@dataclass
class TestPlatform:
    """The LMS's state: its keys, course, members, links; and the tool it is registered with."""

    tool_base: str
    client_id: str = "mlpgrade-client"
    deployment_id: str = "deployment-1"
    context_id: str = "C1-Course"
    context_title: str = "11-785 Introduction to Deep Learning"
    url: str = ""
    private_pem: str = field(default_factory=new_private_key)
    members: dict[str, Member] = field(default_factory=dict)
    links: dict[str, Placed] = field(default_factory=dict)
    content_items: list[dict[str, t.Any]] = field(default_factory=list)
    tool_jwks: dict[str, t.Any] | None = None
    """The tool's key set, when the tool's JWKS URL is not reachable over HTTP (TestClient)."""
    advantage: PlatformState | None = None
    """The AGS/NRPS services' state when served with them (serve_lms)."""

    __test__ = False  # not a pytest class

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def kid(self) -> str:
        return str(Registration.get_jwk(self.private_pem)["kid"])

    def jwks(self) -> dict[str, t.Any]:
        return {"keys": [Registration.get_jwk(public_pem(self.private_pem))]}

    def rotate(self) -> str:
        """A new signing key replaces the old one in the JWKS (as Canvas rotates); its kid."""
        self.private_pem = new_private_key()
        return self.kid

    def add_member(self, login: str, role: str = "student", **kw: str) -> Member:
        member = Member(sub=kw.get("sub", f"sub-{login}-{uuid.uuid4().hex[:6]}"),
                        name=kw.get("name", login.title()),
                        email=kw.get("email", f"{login}@example.edu"), role=role,
                        sourcedid=kw.get("sourcedid", ""))
        self.members[login] = member
        return member

    def add_link(self, link_id: str, title: str = "", **custom: str) -> Placed:
        self.links[link_id] = Placed(link_id, title or link_id, dict(custom))
        return self.links[link_id]

    def registration(self, deep: bool = False) -> Registration:
        reg = (Registration().set_iss(self.issuer).set_client_id(self.client_id)
               .set_deployment_id(self.deployment_id)
               .set_launch_url(f"{self.tool_base}/lti/launch")
               .set_oidc_login_url(f"{self.tool_base}/lti/login")
               .set_platform_private_key(self.private_pem)
               .set_platform_public_key(public_pem(self.private_pem)))
        reg.set_tool_key_set_url(f"{self.tool_base}/lti/jwks")
        if self.tool_jwks:
            reg.set_tool_key_set(self.tool_jwks)
        if deep:
            reg.set_deeplink_launch_url(f"{self.tool_base}/lti/launch")
        return reg

    def start_url(self, login: str, link: str = "", deep: bool = False) -> str:
        """Where a click on `link` (or on "add content") sends `login`'s browser."""
        return f"{self.url}/start?user={login}&link={link}&deep={int(deep)}"

    def claims(self, login: str, link: str = "", deep: bool = False) -> dict[str, t.Any]:
        """The launch message (without nonce, iat, exp) lti1p3platform builds for `login`."""
        launch = _Launch(None, PlatformConf(self, deep))
        launch._registration = self.registration(deep)
        launch.configure(self, login, link, deep)
        body = launch.get_launch_message()
        if deep:
            body[CLAIM + "message_type"] = "LtiDeepLinkingRequest"
            body.update(launch._deep_linking_launch_data or {})
        return body

    def mint(self, claims: dict[str, t.Any], *, private_pem: str | None = None,
             headers: dict[str, t.Any] | None = None, lifetime: int = 300,
             iat: int | None = None) -> str:
        """An id_token signed like the platform's (or with another key, or other headers)."""
        now = int(time.time()) if iat is None else iat
        body = {"iat": now, "exp": now + lifetime, **claims}
        pem = private_pem or self.private_pem
        kid = headers.get("kid") if headers and "kid" in headers else \
            str(Registration.get_jwk(pem)["kid"])
        return Registration.encode_and_sign(body, pem, headers={**(headers or {}), "kid": kid})


class PlatformConf(LTI1P3PlatformConfAbstract):
    """lti1p3platform's platform configuration over a TestPlatform."""

    def __init__(self, platform: TestPlatform, deep: bool = False) -> None:
        self._platform, self._deep = platform, deep
        super().__init__()

    def init_platform_config(self, **kwargs: t.Any) -> None:
        return None

    def get_registration_by_params(self, **kwargs: t.Any) -> Registration:
        return self._platform.registration(self._deep)


class _Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: t.Any) -> None:
        self._lti_message_hint = json.dumps(kwargs)

    def get_redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=302)


class _Launch(LTIAdvantageMessageLaunchAbstract):
    def __init__(self, params: dict[str, str] | None, conf: PlatformConf) -> None:
        super().__init__(None, conf)
        self._params = params or {}

    def get_preflight_response(self) -> dict[str, t.Any]:
        return self._params

    def configure(self, platform: TestPlatform, login: str, link: str, deep: bool) -> None:
        member = platform.members[login]
        self.set_user_data(member.sub, ROLES[member.role], member.name, member.email)
        if member.sourcedid:
            self.set_extra_claims({CLAIM + "lis": {"person_sourcedid": member.sourcedid}})
        self.set_launch_context_claim(platform.context_id, context_title=platform.context_title)
        base = f"{platform.url}/api/lti/courses/{platform.context_id}"
        items, members = f"{base}/lineitems", f"{base}/memberships"
        if platform.advantage is not None:
            items = platform.advantage.lineitems_url(platform.context_id)
            members = platform.advantage.memberships_url(platform.context_id)
        self.set_nrps(members)
        if deep:
            self.set_dl(f"{platform.url}/deep-link-return", title="mlpgrade",
                        accept_types={"ltiResourceLink"}, extra_data={"opaque": "xyz"})
            return
        placed = platform.links[link]
        self.set_resource_link_claim(placed.link_id, title=placed.title)
        self.set_ags(items, placed.lineitem_url or None if platform.advantage else
                     f"{base}/lineitems/{placed.link_id}")
        if placed.custom:
            self.set_custom_parameters_claim(placed.custom)

    def render_launch_form(self, launch_data: dict[str, t.Any], **kwargs: t.Any) -> HTMLResponse:
        return HTMLResponse(autopost(launch_data["launch_url"], {
            "id_token": launch_data["id_token"], "state": launch_data["state"]}))


def autopost(action: str, fields: dict[str, str]) -> str:
    inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in fields.items())
    return (f'<!doctype html><html><body><form id="f" method="post" '
            f'action="{html.escape(action)}">{inputs}<button>Continue</button></form>'
            '<script>document.getElementById("f").submit()</script></body></html>')


def build_app(platform: TestPlatform, routers: t.Sequence[APIRouter] = ()) -> FastAPI:
    """The platform's HTTP face (see the module docstring), with `routers` included (the AGS and
    NRPS services: their URLs in the launches are under `{url}/api/lti/courses/{context_id}/`,
    `lineitems`, `lineitems/{link_id}` and `memberships`; the token URL registered is
    `{url}/token`; `PlatformConf(platform)` is lti1p3platform's configuration to serve them)."""
    app = FastAPI()
    for router in routers:
        app.include_router(router)

    @app.get("/jwks")
    def jwks() -> JSONResponse:
        return JSONResponse(platform.jwks())

    @app.get("/start")
    def start(user: str, link: str = "", deep: int = 0):
        login = _Login(None, PlatformConf(platform, bool(deep)))
        if deep:
            login.set_deeplinking_launch_url()
        login.set_lti_message_hint(link=link, deep=bool(deep))
        return login.initiate_login(user)

    @app.get("/course")
    def course(user: str, link: str) -> HTMLResponse:
        """The LMS's page of the link, embedding the tool in an iframe (as Canvas does)."""
        src = html.escape(platform.start_url(user, link))
        return HTMLResponse(f"<!doctype html><h1>Course</h1><iframe id='tool' src='{src}' "
                            "width='1100' height='700'></iframe>")

    @app.get("/authorize")
    def authorize(request: Request):
        params = dict(request.query_params)
        if params.get("redirect_uri") != f"{platform.tool_base}/lti/launch":
            raise HTTPException(400, f"redirect_uri {params.get('redirect_uri')!r} is not "
                                "registered")
        hint = json.loads(params.get("lti_message_hint") or "{}")
        launch = _Launch(params, PlatformConf(platform, bool(hint.get("deep"))))
        launch._registration = platform.registration(bool(hint.get("deep")))
        launch.configure(platform, params["login_hint"], hint.get("link", ""),
                         bool(hint.get("deep")))
        return launch.lti_launch()

    @app.post("/deep-link-return")
    async def deep_link_return(request: Request) -> HTMLResponse:
        form = await request.form()
        return place_items(platform, str(form.get("JWT", "")))

    return app


def place_items(platform: TestPlatform, token: str) -> HTMLResponse:
    """The deep-linking return: lti1p3platform verifies the tool's response against the tool's
    JWKS (we add the audience check it skips); each item becomes a link of the course."""
    conf = PlatformConf(platform)
    conf.get_registration()
    try:
        body = conf.tool_validate_and_decode(token)
        audience = body.get("aud") if isinstance(body.get("aud"), list) else [body.get("aud")]
        if platform.issuer not in audience:
            raise LtiException(f"the response is for {body.get('aud')!r}")
        items = conf.validate_deeplinking_resp({"JWT": token})
    except (LtiException, jwt.PyJWTError, ValueError) as exc:  # refused, and says why
        return HTMLResponse(f"<p id='refused'>refused: {html.escape(str(exc))}</p>", 400)
    placed = []
    for item in items:
        platform.content_items.append(item)
        link = platform.add_link(f"DL{len(platform.content_items)}", item.get("title", ""),
                                 **(item.get("custom") or {}))
        link.line_item = item.get("lineItem")
        if platform.advantage is not None and isinstance(link.line_item, dict):
            link.lineitem_url = platform.advantage.add_lineitem(
                platform.context_id, {**link.line_item, "resourceLinkId": link.link_id})
        placed.append(f"<li class='placed' data-link='{link.link_id}'>"
                      f"{html.escape(link.title)}</li>")
    return HTMLResponse(f"<h1>Placed in the course</h1><ul>{''.join(placed)}</ul>")


class Served:
    """A uvicorn server in a thread of the test process; `stop()` takes it off the network,
    `start()` puts it back on the same port."""

    def __init__(self, app: t.Any, host: str = "127.0.0.1",
                 tls: tuple[str, str] | None = None, port: int | None = None) -> None:
        """`host`: the name in its URL (it listens on 127.0.0.1); `tls`: (cert, key) files."""
        self.app, self.tls = app, tls
        self.port = port or free_port()
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}"
        self.start()

    def start(self) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off", ssl_certfile=self.tls[0] if self.tls else None,
                                ssl_keyfile=self.tls[1] if self.tls else None)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve_platform(tool_base: str, host: str = "127.0.0.1", tls: tuple[str, str] | None = None,
                   services: t.Sequence[t.Callable[[TestPlatform], APIRouter]] = (),
                   **kw: t.Any) -> tuple[TestPlatform, Served]:
    """A TestPlatform for the tool at `tool_base`, served with the routers `services` make for
    it (see build_app); its URL is its issuer."""
    platform = TestPlatform(tool_base=tool_base, **kw)
    served = Served(build_app(platform, [make(platform) for make in services]), host, tls)
    platform.url = served.url
    return platform, served


def serve_lms(tool_base: str, tool_jwks_url: str, **kw: t.Any
              ) -> tuple[TestPlatform, PlatformState, Served]:
    """One platform serving launches, deep linking, its token endpoint, AGS and NRPS (see the
    module docstring): its launches name its own line items and memberships."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    platform = TestPlatform(tool_base=tool_base, url=url, **kw)
    state = PlatformState(issuer=url, client_id=platform.client_id, base_url=url,
                          tool_jwks_url=tool_jwks_url)
    platform.advantage = state
    app = build_app(platform, [services_router(state)])
    add_outage_switch(app, state)
    return platform, state, Served(app, port=port)


def self_signed(folder: Path) -> tuple[str, str]:
    """A certificate for localhost and 127.0.0.1 (cert file, key file), for TLS in tests."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)
