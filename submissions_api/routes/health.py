"""Liveness and readiness: the database must answer; the broker is reported."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import text

from grader import __version__
from submissions_api.deps import DispatcherDep, ReleasingRoute, SessionDep

router = APIRouter(route_class=ReleasingRoute, tags=["health"])


@router.get("/health")
def health(response: Response, session: SessionDep, dispatcher: DispatcherDep) -> dict:
    try:
        session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - reported in the answer, not raised
        database = f"error: {type(exc).__name__}"
    broker = "ok" if dispatcher.ping() else "unreachable"
    ok = database == "ok"
    if not ok:
        response.status_code = 503
    return {"status": "ok" if ok and broker == "ok" else "degraded" if ok else "down",
            "database": database, "broker": broker, "version": __version__}
