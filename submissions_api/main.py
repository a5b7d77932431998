"""The FastAPI app: `create_app()` (run with `uvicorn --factory submissions_api.main:create_app`).

The JSON API is under /api/v1 (routes/), the HTML pages at the root (pages/); both are thin over
services/. The service layer's errors become HTTP answers here, once: `{"detail": message}` with
the error's status (pages render the same status as a page).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from grader import __version__
from submissions_api import pages
from submissions_api.errors import ServiceError
from submissions_api.jobs import Dispatcher
from submissions_api.lms import outbox
from submissions_api.pages import errors as page_errors
from submissions_api.routes import (
    apidocs,
    assignments,
    golden,
    health,
    metrics,
    regrades,
    submissions,
    users,
)
from submissions_api.services import changes
from submissions_api.settings import Settings, load_settings
from submissions_api.store.db import session_factory

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
DATABASE_DOWN = "the database is unavailable; try again in a minute"
SERVICE_BUSY = "the service is busy (no free database connection); try again shortly"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def create_app(settings: Settings | None = None, dispatcher: Dispatcher | None = None) -> FastAPI:
    """The app over the configured database and broker (the schema must be migrated)."""
    settings = settings or load_settings()
    app = FastAPI(title="mlpgrade", version=__version__, docs_url=None, redoc_url=None,
                  description="Grading service for the MyTorch MLP homework (11-785 HW1P1).")
    app.state.settings = settings
    app.state.sessions = session_factory(settings.database_url)
    app.state.changes = changes.Changes(app.state.sessions)
    app.state.dispatcher = dispatcher or Dispatcher(settings)
    outbox.notify_after_commit(settings.database_url, app.state.dispatcher.send_scores)
    app.state.templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(PoolTimeoutError, _service_busy)
    app.add_exception_handler(StarletteHTTPException, page_errors.http_error)
    app.add_exception_handler(Exception, page_errors.server_error)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.state.metrics = metrics.Metrics()
    app.add_middleware(metrics.Timing, metrics=app.state.metrics)
    app.include_router(apidocs.router)  # /docs and /redoc, served offline
    for module in (users, assignments, submissions, regrades, golden):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(pages.router)
    return app


async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
    """A request the service refused (errors.py): its message and status, as FastAPI's
    HTTPException would answer."""
    return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=exc.headers)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database is down or unreachable (or SQLite is locked past its timeout): ours and
    temporary, so 503 with Retry-After instead of a 500. Nothing was accepted: an upload is
    answered 202 only after its commit."""
    log.warning("database unavailable during %s %s: %s", request.method, request.url.path,
                str(exc).splitlines()[0][:200])
    return JSONResponse({"detail": DATABASE_DOWN}, status_code=503,
                        headers={"Retry-After": "60"})


async def _service_busy(request: Request, exc: Exception) -> JSONResponse:
    """Every pooled connection stayed taken for the pool timeout (slow requests piling up):
    an overload, not a bug, so 503 with a short Retry-After."""
    log.warning("no free database connection during %s %s", request.method, request.url.path)
    return JSONResponse({"detail": SERVICE_BUSY}, status_code=503, headers={"Retry-After": "5"})
