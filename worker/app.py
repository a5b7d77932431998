"""The Celery app of a worker process (started only by `python -m worker`): the settings are
loaded once, here, and every task's context is built over them."""

from __future__ import annotations

import ast
import inspect
import logging

from celery import Celery, current_task
from celery.signals import after_setup_logger, after_setup_task_logger, worker_ready

from submissions_api import logs
from submissions_api.jobs import celery_config, configure_transport
from submissions_api.settings import load_settings
from worker.context import get_context
from worker.reaper import start_reaper_thread, start_sender_thread

log = logging.getLogger(__name__)

settings = load_settings()
configure_transport(settings)
app = Celery("mlpgrade", include=["worker.tasks"])
app.conf.update(celery_config(settings))


@worker_ready.connect
def _start_reaper(**_: object) -> None:
    """Every worker reaps: no extra process to run, and reaping is safe to do concurrently. A
    worker of the bulk queue also sends due LMS scores beside its pool (worker/reaper.py)."""
    if settings.reaper_interval > 0:
        start_reaper_thread(lambda: get_context(settings), settings.reaper_interval)
        log.info("reaper every %s s", settings.reaper_interval)
    if settings.reaper_interval > 0 and settings.bulk_queue in consumed_queues():
        start_sender_thread(lambda: get_context(settings), settings.reaper_interval)


def consumed_queues() -> set[str]:
    """The queues this worker takes messages from (`--queues`)."""
    queues = app.amqp.queues
    return set(queues.consume_from or queues)


@after_setup_logger.connect
@after_setup_task_logger.connect
def _structured_logs(logger: logging.Logger, **_: object) -> None:
    """Every handler Celery sets up writes MLPGRADE_LOG_FORMAT lines with the task's fields."""
    logs.install(logger, settings.log_format, task_fields)


def task_fields(record: logging.LogRecord) -> dict[str, object]:
    """The fields of the task a line is about: the task this thread runs, or, for Celery's
    "received" line in the main process, the one its record names. Our tasks take ids (worker
    .tasks), so their arguments are the fields: submission_id and attempt, run_id, ..."""
    data = getattr(record, "data", None)
    if isinstance(data, dict) and isinstance(data.get("name"), str):
        return _fields(data["name"], data.get("id"), _literal(data.get("args"), ()),
                       _literal(data.get("kwargs"), {}))
    task = current_task
    if not task or task.request.id is None:
        return {}
    return _fields(task.name, task.request.id, task.request.args or (),
                   task.request.kwargs or {})


def _fields(name: str, task_id: object, args: object, kwargs: object) -> dict[str, object]:
    fields: dict[str, object] = {}
    task = app.tasks.get(name)
    if task is not None and isinstance(args, list | tuple) and isinstance(kwargs, dict):
        try:
            fields.update(inspect.signature(task.run).bind_partial(*args, **kwargs).arguments)
        except TypeError:
            pass
    if fields.get("kind") == "submission" and "ident" in fields:
        fields["submission_id"] = fields["ident"]
    return {**fields, "task": name, "task_id": task_id}


def _literal(text: object, default: object) -> object:
    """Celery's repr of our tasks' arguments (ints and short strings we sent)."""
    try:
        return ast.literal_eval(text) if isinstance(text, str) else default
    except (ValueError, SyntaxError):
        return default
