"""Prometheus metrics at `/metrics` (a TA's or instructor's bearer token: Prometheus sends it
with `authorization: {credentials: TOKEN}` in its scrape config; a signed-in staff browser's
cookie is accepted too).

The queue's figures come from the database at each scrape (`services/health.figures`, the same
the queue health page shows), so every API process and host reports the same; the API's own
latency per route is measured here, in this process, by `Timing`."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from submissions_api.deps import BearerOrCookieUser, ReleasingRoute, SessionDep
from submissions_api.services import health

router = APIRouter(route_class=ReleasingRoute, tags=["health"])
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """One app's registry: its request latency histogram (by method, route template and status
    class), and the queue's figures read at scrape time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "mlpgrade_http_request_duration_seconds", "API and page request latency",
            ("method", "route", "status"), buckets=LATENCY_BUCKETS, registry=self.registry)

    def exposition(self, figures: health.Figures) -> bytes:
        registry = CollectorRegistry()
        registry.register(_QueueCollector(figures))
        return generate_latest(self._requests()) + generate_latest(registry)

    def _requests(self) -> CollectorRegistry:
        """This process's latency, or every API process's under `mlpgrade serve --api-workers`
        (PROMETHEUS_MULTIPROC_DIR, set before they start, holds their shared metric files)."""
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not folder:
            return self.registry
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
        return registry


class _QueueCollector(Collector):
    def __init__(self, figures: health.Figures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[object]:
        f = self.figures
        depth = GaugeMetricFamily("mlpgrade_queue_depth", "Submissions waiting or being graded",
                                  labels=("queue", "state"))
        oldest = GaugeMetricFamily("mlpgrade_oldest_waiting_seconds",
                                   "How long the oldest queued submission has waited",
                                   labels=("queue",))
        for q in f.queues:
            depth.add_metric((q.queue, "queued"), q.queued)
            depth.add_metric((q.queue, "running"), q.running)
            oldest.add_metric((q.queue,), q.oldest_waiting_seconds)
        yield depth
        yield oldest
        sick = GaugeMetricFamily("mlpgrade_worker_host_sick",
                                 "1 for a worker host whose self-check fails (it takes no work)",
                                 labels=("host",))
        for host in f.sick_hosts:
            sick.add_metric((host.name,), 1)
        yield sick
        yield GaugeMetricFamily("mlpgrade_failed_submissions",
                                "Submissions that ended failed through our fault",
                                value=f.failed)
        yield GaugeMetricFamily("mlpgrade_graded_last_minute",
                                "Gradings that ended graded in the last minute",
                                value=f.graded_last_minute)
        runs = CounterMetricFamily("mlpgrade_grading_runs", "Grading runs recorded, by outcome "
                                   "(infrastructure_error: ours, retried)", labels=("outcome",))
        for outcome, count in f.runs_total.items():
            runs.add_metric((outcome,), count)
        yield runs
        yield CounterMetricFamily("mlpgrade_infrastructure_errors",
                                  "Grading runs that failed on our side",
                                  value=f.runs_total.get("infrastructure_error", 0))
        durations = HistogramMetricFamily("mlpgrade_grading_duration_seconds",
                                          "Wall time of a grading run, by outcome",
                                          labels=("outcome",))
        for d in f.durations:
            durations.add_metric((d.outcome,), [(_le(b), c) for b, c in d.buckets],
                                 sum_value=d.total)
        yield durations
        lms = GaugeMetricFamily("mlpgrade_lms_scores", "LMS score outbox rows not yet sent "
                                "(failing: the platform refused or was down)", labels=("state",))
        for state, count in f.lms_scores.items():
            lms.add_metric((state,), count)
        yield lms


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


class Timing:
    """ASGI middleware: each HTTP request's latency into `Metrics.latency`, labelled with its
    route's template (`/api/v1/submissions/{submission_id}`, never the id itself)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.latency.labels(scope["method"], route_template(scope),
                                        f"{status[0] // 100}xx").observe(
                time.perf_counter() - start)


def route_template(scope: Scope) -> str:
    """The request's path with each path parameter's value put back as `{name}`; "unmatched"
    when no route took it (so a scanner's random paths make no new series)."""
    if scope.get("route") is None:
        return "unmatched"
    names = {str(value): name for name, value in scope.get("path_params", {}).items()}
    return "/".join(f"{{{names[part]}}}" if part in names else part
                    for part in scope.get("path", "").split("/"))


@router.get("/metrics", response_class=Response)
def metrics(request: Request, user: BearerOrCookieUser, session: SessionDep) -> Response:
    """Prometheus text exposition: queue depth and oldest wait per queue, gradings per minute,
    grading durations by outcome, infrastructure errors, request latency by route (staff)."""
    figures = health.queue_health(session, user)
    return Response(request.app.state.metrics.exposition(figures),
                    media_type=CONTENT_TYPE_LATEST)
