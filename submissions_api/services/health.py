"""How the grading queue is doing, from the database (the source of truth, the same on every
host): what waits per queue and since when, how many gradings ended in the last minute and
hour, how long gradings take by outcome, our own (infrastructure) failures. `/metrics` exposes
these figures to Prometheus and the instructors' queue health page shows them; both call
`figures`, so they never disagree."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from submissions_api.lms import outbox
from submissions_api.security import require_role
from submissions_api.store import crud
from submissions_api.store.models import Role, User
from submissions_api.store.models_grading import QueueKind, RunOutcome, Status

DURATION_BUCKETS = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0,
                    math.inf)
"""Upper bounds (seconds) of the grading-duration histogram: a grading takes 10–60 s."""


@dataclass(frozen=True)
class QueueFigures:
    queue: str
    queued: int
    running: int
    oldest_waiting_seconds: float
    """How long the longest-waiting queued submission has waited (0 when none waits)."""


@dataclass(frozen=True)
class Durations:
    """One outcome's grading wall times: a cumulative histogram (every run ever recorded) and,
    of the last hour, the median and 95th percentile."""

    outcome: str
    buckets: list[tuple[float, int]]
    count: int
    total: float
    last_hour_p50: float | None
    last_hour_p95: float | None


@dataclass(frozen=True)
class SickHost:
    """A worker host that failed its self-check (worker/health.py): it takes no work."""

    name: str
    reason: str
    since: datetime | None
    checked_at: datetime


@dataclass(frozen=True)
class Figures:
    now: datetime
    queues: list[QueueFigures]
    graded_last_minute: int
    graded_last_hour: int
    runs_total: dict[str, int]
    """Grading runs recorded, by outcome (infrastructure_error: ours, retried)."""
    durations: list[Durations] = field(default_factory=list)
    sick_hosts: list[SickHost] = field(default_factory=list)
    failed: int = 0
    """Submissions that ended failed through our fault (re-graded once no host is sick)."""
    lms_scores: dict[str, int] = field(default_factory=dict)
    """The LMS score outbox: rows pending and, among them, failing (lms/outbox.backlog)."""


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def figures(session: Session) -> Figures:
    """The queue's figures now (the waiting work, the runs' times, the LMS score backlog)."""
    now = crud.db_now(session)
    per_queue: dict[str, dict[str, object]] = {
        q.value: {"queued": 0, "running": 0, "oldest": None} for q in QueueKind}
    for row in crud.waiting(session):
        entry = per_queue.setdefault(row.queue, {"queued": 0, "running": 0, "oldest": None})
        entry[row.status] = row.count
        if row.status == Status.QUEUED:
            entry["oldest"] = row.oldest
    queues = [QueueFigures(queue, int(e["queued"]), int(e["running"]),
                           max(0.0, (now - e["oldest"]).total_seconds()) if e["oldest"] else 0.0)
              for queue, e in per_queue.items()]
    runs = crud.run_times(session)
    minute, hour = now - timedelta(minutes=1), now - timedelta(hours=1)
    graded = [r for r in runs if r.outcome == RunOutcome.GRADED]
    totals = {o.value: 0 for o in RunOutcome}
    spans: dict[str, list[tuple[float, datetime]]] = {o.value: [] for o in RunOutcome}
    for r in runs:
        totals[r.outcome] = totals.get(r.outcome, 0) + 1
        if r.started_at is not None:
            spans.setdefault(r.outcome, []).append(
                (max(0.0, (r.finished_at - r.started_at).total_seconds()), r.finished_at))
    durations = []
    for outcome, values in spans.items():
        seconds = [s for s, _ in values]
        recent = sorted(s for s, at in values if at >= hour)
        durations.append(Durations(
            outcome=outcome, count=len(seconds), total=sum(seconds),
            buckets=[(b, sum(1 for s in seconds if s <= b)) for b in DURATION_BUCKETS],
            last_hour_p50=_percentile(recent, 50), last_hour_p95=_percentile(recent, 95)))
    return Figures(now=now, queues=queues,
                   graded_last_minute=sum(1 for r in graded if r.finished_at >= minute),
                   graded_last_hour=sum(1 for r in graded if r.finished_at >= hour),
                   runs_total=totals, durations=durations, sick_hosts=sick_hosts(session),
                   failed=len(crud.failed_ours(session)), lms_scores=outbox.backlog(session))


def sick_hosts(session: Session) -> list[SickHost]:
    return [SickHost(h.name, h.reason, h.since, h.checked_at) for h in crud.sick_hosts(session)]


def queue_health(session: Session, user: User) -> Figures:
    """The figures, for staff (TAs and instructors)."""
    require_role(user, Role.TA)
    return figures(session)
