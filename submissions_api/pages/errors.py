"""Errors outside the page routes (an unknown URL, a crash): a styled page for a browser, JSON
`{"detail": ...}` for an API client, chosen by the request's Accept header. A browser asks for
`text/html`; httpx, curl, Prometheus and Swagger's fetch do not, and /api/v1 is always JSON."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from submissions_api.pages.base import error_page

NOT_FOUND = "There is no page at this address. Check the link, or start from your assignments."
CRASHED = ("Something went wrong on our side (not yours); it has been logged. Try again in a "
           "minute, and tell your TA if it keeps happening.")


def wants_html(request: Request) -> bool:
    """A browser's navigation (Accept names text/html), never the JSON API."""
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Routing's 404 and 405 (and any HTTPException raised outside a page route)."""
    if wants_html(request):
        message = NOT_FOUND if exc.status_code == 404 else str(exc.detail)
        return error_page(request, exc.status_code, message)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def server_error(request: Request, exc: Exception) -> Response:
    """A bug of ours, answered 500 without its traceback (the server logs that once)."""
    if wants_html(request):
        return error_page(request, 500, CRASHED)
    return JSONResponse({"detail": "internal error (ours): try again, or tell the course staff"},
                        status_code=500)
