"""Liveness and readiness: the database must answer; the broker and the worker hosts that are
sick (they take no work until their self-check passes, worker/health.py) are counted: "degraded"
while one is. Which hosts and why is for staff (the queue page, /metrics)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import text

from grader import __version__
from submissions_api.deps import DispatcherDep, ReleasingRoute, SessionDep
from submissions_api.services.health import sick_hosts

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
    sick = len(sick_hosts(session)) if ok else 0  # which and why: the staff's queue page
    if not ok:
        response.status_code = 503
    well = broker == "ok" and not sick
    return {"status": "ok" if ok and well else "degraded" if ok else "down",
            "database": database, "broker": broker, "sick_hosts": sick, "version": __version__}
