"""/docs and /redoc from files we serve ourselves, so they work offline (a classroom network, a
laptop on a train): FastAPI's defaults load Swagger UI and ReDoc from a CDN.

The assets come from the `fastapi-offline` package (MIT), which ships Swagger UI (Apache-2.0)
and ReDoc (MIT) builds as package data; we use only its files, not its app factory.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(include_in_schema=False)
ASSETS = Path(str(files("fastapi_offline") / "static"))
ASSET_TYPES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
               "redoc.standalone.js": "text/javascript", "favicon.png": "image/png"}
PREFIX = "/static/apidocs"


@router.get(f"{PREFIX}/{{name}}")
def asset(name: str) -> FileResponse:
    if name not in ASSET_TYPES:
        raise HTTPException(404, "no such file")
    return FileResponse(ASSETS / name, media_type=ASSET_TYPES[name],
                        headers={"Cache-Control": "max-age=86400"})


@router.get("/docs")
def swagger(request: Request) -> HTMLResponse:
    app = request.app
    return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} — API",
                               swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
                               swagger_css_url=f"{PREFIX}/swagger-ui.css",
                               swagger_favicon_url=f"{PREFIX}/favicon.png")


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    app = request.app
    return get_redoc_html(openapi_url=app.openapi_url, title=f"{app.title} — API reference",
                          redoc_js_url=f"{PREFIX}/redoc.standalone.js",
                          redoc_favicon_url=f"{PREFIX}/favicon.png", with_google_fonts=False)
