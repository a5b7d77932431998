"""What every page shares: rendering, the error pages, and a same-origin check on form posts.

Page routes call the same services as the JSON API (they hold the permission checks), so a
service error (errors.py), or the 401 of a missing sign-in, becomes an HTML page here: 401 sends the
visitor to sign in, anything else renders `error.html` with the same status.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from markupsafe import Markup, escape

from grader.feedback import CauseKind
from grader.results import TestStatus
from submissions_api.errors import ServiceError
from submissions_api.services.sources import link_places, link_traceback
from submissions_api.store.models_grading import ItemStatus, Status, TrainingStatus

TITLES = {400: "Bad request", 401: "Please sign in", 403: "Not allowed", 404: "Not found",
          405: "Method not allowed", 500: "Something went wrong",
          409: "Conflict", 413: "Too large", 422: "Not accepted", 429: "Please wait"}

ENUMS = {"Status": Status, "TrainingStatus": TrainingStatus, "ItemStatus": ItemStatus,
         "TestStatus": TestStatus, "CauseKind": CauseKind}
"""Templates compare states with these enums, never with bare strings."""


class PageRoute(APIRoute):
    """An APIRoute whose HTTP errors are pages, and whose POSTs must come from our own origin
    (with the SameSite=Lax cookie this stops cross-site form posts)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                if request.method == "POST" and not same_origin(request):
                    raise HTTPException(status.HTTP_403_FORBIDDEN,
                                        "this form was posted from another site")
                return await handler(request)
            except HTTPException as exc:
                return error_page(request, exc.status_code, str(exc.detail))
            except ServiceError as exc:
                return error_page(request, exc.status, exc.message)
            except RequestValidationError as exc:  # a form field that is missing or malformed
                return error_page(request, 422, explain_errors(exc.errors()))

        return page_handler



def page_router() -> APIRouter:
    return APIRouter(route_class=PageRoute, include_in_schema=False)


def scheme(request: Request) -> str:
    """How the browser reached us: the connection's scheme, or, behind a TLS-ending proxy the
    settings trust (MLPGRADE_TRUST_FORWARDED_PROTO), the proxy's X-Forwarded-Proto."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    if forwarded in ("http", "https") and request.app.state.settings.trust_forwarded_proto:
        return forwarded
    return request.url.scheme


def frame_cookie(request: Request, response: Response, name: str, value: str = "", *,
                 max_age: int = 0, path: str = "/") -> None:
    """Set (or, with max_age 0, delete) a cookie that must work inside an LMS's iframe, on
    another site: over TLS `SameSite=None; Secure; Partitioned`. SameSite=None lets the
    cross-site frame send it; Partitioned (CHIPS) keeps it in the LMS's partition so that
    browsers blocking third-party cookies (Chromium does here) still keep it. Over plain HTTP
    browsers refuse SameSite=None, so `Lax` (the LMS must then be on the same site, or open
    the tool in a new window)."""
    secure = scheme(request) == "https"
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, secure=secure,
                        samesite="none" if secure else "lax")
    if secure:  # Starlette writes Partitioned only on Python 3.14+
        key, header = response.raw_headers[-1]
        response.raw_headers[-1] = (key, header + b"; Partitioned")


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # old browsers and non-browser clients send none; the cookie is Lax anyway
    return origin == f"{scheme(request)}://{request.url.netloc}"


def error_page(request: Request, code: int, message: str) -> Response:
    if code == status.HTTP_401_UNAUTHORIZED:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status.HTTP_303_SEE_OTHER)
    title = TITLES.get(code, "Something went wrong")
    return render(request, "error.html", status_code=code, title=title, message=message,
                  code=code)


def sentence(message: str) -> str:
    """A service's message as a sentence on a page: "no such user" → "No such user."."""
    text = " ".join(str(message or "").split())
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def explain_errors(errors: Sequence[dict[str, Any]]) -> str:
    """Pydantic's or FastAPI's validation errors as sentences naming the field as the form
    labels it: "Late penalty: input should be less than or equal to 1."."""
    parts = []
    for e in errors:
        field = next((str(p) for p in reversed(e.get("loc", ())) if not isinstance(p, int)), "")
        field = FIELD_NAMES.get(field, field.replace("_", " "))
        message = str(e.get("msg", "not valid"))
        parts.append(sentence(f"{field}: {message[0].lower()}{message[1:]}" if field and message
                              else message))
    return " ".join(parts)


FIELD_NAMES = {"body": "", "late_penalty": "Late penalty", "submission_limit": "Submission limit",
               "cooldown_seconds": "Cooldown", "late_deadline": "Late deadline",
               "visible_from": "Visible from", "release_at": "Release",
               "canvas_assignment_id": "Canvas assignment id (digits only)"}


def when(value: datetime | None, zone: str = "UTC") -> Markup | str:
    """A moment in the course's time zone (MLPGRADE_TIMEZONE), to the second, in a <time>
    element, with the UTC beside when the zone is another; pages.js adds the reader's own
    local time when it differs from the course's."""
    if value is None:
        return "—"
    utc = as_utc(value)
    if zone == "UTC":
        return Markup('<time datetime="{}">{}</time>').format(
            utc.isoformat(), utc.strftime("%Y-%m-%d %H:%M:%S UTC"))
    return Markup('<time datetime="{}">{}</time><span class="utc"> ({})</span>').format(
        utc.isoformat(), utc.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S %Z"),
        utc.strftime("%Y-%m-%d %H:%M UTC"))


def as_utc(value: datetime) -> datetime:
    """The database's moments are UTC (SQLite hands them back without a zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_local(text: str, zone: str) -> datetime | None:
    """A `datetime-local` field typed in the course's time zone; None when empty."""
    if not text.strip():
        return None
    moment = datetime.fromisoformat(text.strip())
    return moment.replace(tzinfo=ZoneInfo(zone)) if moment.tzinfo is None else moment


def form_local(value: datetime | None, zone: str) -> str:
    """A moment as a `datetime-local` field's value in the course's time zone."""
    return as_utc(value).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M") if value else ""


def course_zone(request: Request) -> str:
    return request.app.state.settings.timezone


def points(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}"


def ticks(text: str | None) -> Markup:
    """Feedback messages quote names in `backticks`: show those as code (after escaping)."""
    return Markup(re.sub(r"`([^`\n]+)`", r"<code>\1</code>", str(escape(text or ""))))


def _templates(request: Request):
    templates = request.app.state.templates
    env = templates.env
    if "when" not in env.filters:
        zone = course_zone(request)
        env.globals.update(course_zone=zone)
        env.filters.update(when=lambda value: when(value, zone), points=points, ticks=ticks,
                           sentence=sentence, tblinks=link_traceback,
                           look=link_places)
        env.globals.update(ENUMS)
    return templates


def render(request: Request, template: str, *, status_code: int = 200, **context: Any
           ) -> HTMLResponse:
    templates = _templates(request)
    user = context.pop("user", None) or getattr(request.state, "user", None)
    return templates.TemplateResponse(request, template, {"user": user, **context},
                                      status_code=status_code)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status.HTTP_303_SEE_OTHER)
