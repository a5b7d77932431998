"""The Celery app of a worker process (started only by `python -m worker`): the settings are
loaded once, here, and every task's context is built over them."""

from __future__ import annotations

import logging

from celery import Celery
from celery.signals import worker_ready

from submissions_api.jobs import celery_config, configure_transport
from submissions_api.settings import load_settings
from worker.context import get_context
from worker.reaper import start_reaper_thread

log = logging.getLogger(__name__)

settings = load_settings()
configure_transport(settings)
app = Celery("mlpgrade", include=["worker.tasks"])
app.conf.update(celery_config(settings))


@worker_ready.connect
def _start_reaper(**_: object) -> None:
    """Every worker reaps: no extra process to run, and reaping is safe to do concurrently."""
    if settings.reaper_interval > 0:
        start_reaper_thread(lambda: get_context(settings), settings.reaper_interval)
        log.info("reaper every %s s", settings.reaper_interval)
