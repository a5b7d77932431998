"""Publishing jobs to Celery by task name: the API never imports `worker/`.

`celery_config` is the one Celery configuration; the worker's app (worker/app.py) uses it too.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from celery import Celery
from kombu import Exchange, Queue
from sqlalchemy.engine import make_url

from submissions_api.settings import Settings
from submissions_api.store.models_grading import QueueKind

log = logging.getLogger(__name__)
BROKER_BUSY_SECONDS = 30

GRADE_TASK = "worker.grade_submission"
GOLDEN_TASK = "worker.prepare_golden_set"
TRAIN_TASK = "worker.train_run"
SIMILARITY_TASK = "worker.similarity_index"
ENSURE_GOLDEN_TASK = "worker.ensure_golden_set"
SIGN_IN_LINK_TASK = "worker.send_sign_in_link"
SCORES_TASK = "worker.send_scores"
ROSTER_TASK = "worker.sync_roster"


def celery_config(settings: Settings) -> dict[str, Any]:
    """Durable-ish delivery: ack after the task, one message at a time, time limits above the
    sandbox's; the database (leases, reaper) is what makes delivery reliable."""
    options: dict[str, Any] = {}
    if settings.broker_url.startswith(("redis", "rediss")):
        # Unacknowledged tasks are redelivered after this; above the task time limit.
        options = {"visibility_timeout": settings.visibility_timeout}
    if settings.broker_url.startswith("sqla+"):
        # The sqla transport passes transport options to create_engine(): the polling interval
        # has to be set on the Transport class instead (configure_transport). SQLite waits up
        # to BROKER_BUSY_SECONDS for a lock, as the service's own database does.
        options = ({"connect_args": {"timeout": BROKER_BUSY_SECONDS}}
                   if settings.broker_url.startswith("sqla+sqlite") else {})
    return {
        "broker_url": settings.broker_url,
        "broker_transport_options": options,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 5,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "task_time_limit": settings.task_time_limit,
        "task_soft_time_limit": settings.task_time_limit - 30,
        "task_default_queue": settings.live_queue,
        "task_default_exchange": settings.live_queue,
        "task_default_routing_key": settings.live_queue,
        "task_queues": [Queue(name, Exchange(name, type="direct"), routing_key=name)
                        for name in (settings.live_queue, settings.bulk_queue)],
        "task_publish_retry_policy": {"max_retries": 2, "interval_start": 0.2,
                                      "interval_step": 0.5, "interval_max": 1},
        "worker_hijack_root_logger": False,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
    }


def configure_transport(settings: Settings) -> None:
    if settings.broker_url.startswith("sqla+"):
        from kombu.transport.sqlalchemy import Transport

        Transport.polling_interval = settings.polling_interval
    if settings.broker_url.startswith("sqla+sqlite"):
        embedded_broker_wal(make_url(settings.broker_url.removeprefix("sqla+")).database)


def embedded_broker_wal(path: str | None) -> None:
    """The embedded broker's SQLite file in WAL mode (kept by the file once set). In SQLite's
    default rollback journal, a reader holding the file past the busy timeout makes a consumer's
    commit fail, and kombu's sqlalchemy transport then keeps that half-done transaction and its
    lock: every process waiting on the broker failed with "database is locked" until serve
    was killed (seen in a burst of 30 uploads at a load of 25 on 2 cores). In WAL, readers never
    block a commit, and writers wait for each other before taking any lock."""
    if not path or path == ":memory:":
        return
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(path, timeout=BROKER_BUSY_SECONDS)) as db:
            db.execute("PRAGMA journal_mode=WAL").fetchall()
    except sqlite3.Error as exc:  # a file another process is switching at this moment
        log.warning("the embedded broker %s stays in its journal mode: %s", path, exc)


PING_SECONDS = 5.0


class Dispatcher:
    """Sends grading and golden-set jobs. A failed send is logged, not raised: the submission is
    already committed, and the reaper re-sends what stays queued."""

    def __init__(self, settings: Settings, app: Celery | None = None) -> None:
        self.settings = settings
        if app is None:
            configure_transport(settings)
            app = Celery("mlpgrade-api", set_as_current=False)
            app.conf.update(celery_config(settings))
        self.app = app
        self._ping_lock = threading.Lock()
        self._pinged = (-PING_SECONDS, False)  # (when, answer) of the last ping

    def queue_name(self, kind: str) -> str:
        """The broker's name of the queue of a QueueKind."""
        return self.settings.bulk_queue if kind == QueueKind.BULK else self.settings.live_queue

    def send_grade(self, submission_id: int, attempt: int, *, kind: str = QueueKind.LIVE,
                   countdown: float = 0) -> bool:
        return self._send(GRADE_TASK, [submission_id, attempt], self.queue_name(kind), countdown)

    def send_training(self, run_id: int, tries: int = 0, *, countdown: float = 0) -> bool:
        """The training run of a graded run, on the bulk queue (never delays live grading)."""
        return self._send(TRAIN_TASK, [run_id, tries], self.settings.bulk_queue, countdown)

    def send_similarity(self, kind: str, ident: int) -> bool:
        """Compare a graded submission ("submission", id) or an imported hand-in ("entry", id)
        with the assignment's others, on the bulk queue."""
        return self._send(SIMILARITY_TASK, [kind, ident], self.settings.bulk_queue, 0)

    def send_golden(self, golden_id: int, action: str, tries: int = 0, *,
                    countdown: float = 0) -> bool:
        """A golden-set job (generate or verify), on the bulk queue."""
        return self._send(GOLDEN_TASK, [golden_id, action, tries], self.settings.bulk_queue,
                          countdown)

    def send_ensure_golden(self, assignment_id: int) -> bool:
        """Make the assignment's first golden set now (bulk queue), before a grading needs it."""
        return self._send(ENSURE_GOLDEN_TASK, [assignment_id], self.settings.bulk_queue, 0)

    def send_sign_in_link(self, link_id: int, *, countdown: float = 0) -> bool:
        """Mail a queued sign-in link (submissions_api/sign_in_links.py), on the bulk queue."""
        return self._send(SIGN_IN_LINK_TASK, [link_id], self.settings.bulk_queue, countdown)

    def send_scores(self) -> bool:
        """Send the LMS the scores the outbox holds (bulk queue; lms/passback.py)."""
        return self._send(SCORES_TASK, [], self.settings.bulk_queue, 0)

    def send_roster_sync(self, context_pk: int) -> bool:
        """Sync an LMS course's roster (NRPS) into our users (bulk queue; lms/roster.py)."""
        return self._send(ROSTER_TASK, [context_pk], self.settings.bulk_queue, 0)

    def _send(self, name: str, args: list[Any], queue: str, countdown: float) -> bool:
        try:
            self.app.send_task(name, args=args, queue=queue, countdown=countdown or None)
            return True
        except Exception:
            log.exception("could not send %s%s to %s", name, args, queue)
            return False

    def queue_size(self, kind: str) -> int | None:
        """Messages waiting in a queue, or None when the broker cannot say."""
        try:
            with self.app.connection_for_write() as conn:
                channel = conn.default_channel
                # kombu's virtual transports (Redis, sqla) count with _size(); a passive
                # declare would fail on Redis for an empty (absent) list.
                size = getattr(channel, "_size", None)
                if size is not None:
                    return int(size(self.queue_name(kind)))
                return channel.queue_declare(queue=self.queue_name(kind),
                                             passive=True).message_count
        except Exception:  # noqa: BLE001 - a broker we cannot ask: the size is unknown
            return None

    def declare_queues(self) -> None:
        """Create both queues (and, embedded, the broker's tables) once, before workers start."""
        with self.app.connection_for_write() as conn:
            for kind in QueueKind:
                conn.default_channel.queue_declare(queue=self.queue_name(kind), durable=True,
                                                   auto_delete=False)

    def ping(self) -> bool:
        """Whether the broker answers, asked at most every PING_SECONDS per process: a health
        check polled by load balancers and crowds must not open a broker connection each."""
        with self._ping_lock:
            if time.monotonic() - self._pinged[0] < PING_SECONDS:
                return self._pinged[1]
            try:
                with self.app.connection_for_write() as conn:
                    conn.ensure_connection(max_retries=1, timeout=2)
                up = True
            except Exception:  # noqa: BLE001 - any failure to reach the broker means it is down
                up = False
            self._pinged = (time.monotonic(), up)
            return up
