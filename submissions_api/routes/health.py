"""Liveness and readiness: the database must answer; the broker is reported."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

from submissions_api.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(request: Request, response: Response, session: SessionDep) -> dict:
    try:
        session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        database = f"error: {type(exc).__name__}"
    broker = "ok" if request.app.state.dispatcher.ping() else "unreachable"
    ok = database == "ok"
    if not ok:
        response.status_code = 503
    from grader import __version__

    return {"status": "ok" if ok and broker == "ok" else "degraded" if ok else "down",
            "database": database, "broker": broker, "version": __version__}
