"""The FastAPI app: `create_app()` (run with `uvicorn --factory submissions_api.main:create_app`).

Web pages plug in at one spot: a `submissions_api.pages` package exposing `router` is included
when present, and `app.state.templates` is a Jinja2 environment over `templates/`.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.templating import Jinja2Templates

from submissions_api.db import session_factory
from submissions_api.queue import Dispatcher
from submissions_api.routes import assignments, golden, health, regrades, submissions, users
from submissions_api.settings import Settings, load_settings

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def create_app(settings: Settings | None = None, dispatcher: Dispatcher | None = None) -> FastAPI:
    """The app over the configured database and broker (the schema must be migrated)."""
    settings = settings or load_settings()
    from grader import __version__

    app = FastAPI(title="mlpgrade", version=__version__,
                  description="Grading service for the MyTorch MLP homework (11-785 HW1P1).")
    app.state.settings = settings
    app.state.sessions = session_factory(settings.database_url)
    app.state.dispatcher = dispatcher or Dispatcher(settings)
    app.state.templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    app.include_router(health.router)
    for module in (users, assignments, submissions, regrades, golden):
        app.include_router(module.router, prefix=API_PREFIX)
    _include_pages(app)
    return app


def _include_pages(app: FastAPI) -> None:
    """The HTML pages, if that package is installed (it builds on this app)."""
    try:
        pages = importlib.import_module("submissions_api.pages")
    except ImportError:
        return
    router = getattr(pages, "router", None)
    if router is not None:
        app.include_router(router)
