"""Log lines that say what they are about: `MLPGRADE_LOG_FORMAT` is `text` (the default, for a
terminal) or `json` (one object a line, for a log collector). Either way a line logged while a
worker handles a task carries that task's fields (`submission_id`, `attempt`, `run_id`, ...,
`task`, `task_id`): every line of a grading, Celery's own "received" and "succeeded" lines
included, can be found by the submission's id.

The fields come from `bind` (a context variable a task sets when it learns more, e.g. the
submission of a training run) and from a `fields` function the process installs (the worker's
reads the Celery task running in this thread). Never from student code: the sandbox's output
does not reach a log line's fields.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

FORMATS = ("text", "json")
_bound: ContextVar[dict[str, object] | None] = ContextVar("mlpgrade_log_fields", default=None)
_BUILTIN = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "fields"}


@contextmanager
def bind(**fields: object) -> Iterator[None]:
    """Lines logged inside carry `fields` too (this thread and what it awaits)."""
    token = _bound.set({**(_bound.get() or {}), **fields})
    try:
        yield
    finally:
        _bound.reset(token)


class ContextFilter(logging.Filter):
    """Puts the line's fields on the record (`record.fields`); never drops a line."""

    def __init__(self, fields: Callable[[logging.LogRecord], dict[str, object]] | None = None
                 ) -> None:
        super().__init__()
        self._fields = fields

    def filter(self, record: logging.LogRecord) -> bool:
        fields: dict[str, object] = {}
        if self._fields is not None:
            try:
                fields.update(self._fields(record))
            except Exception:  # noqa: BLE001 - a field we cannot read costs it, not the line
                pass
        fields.update(_bound.get() or {})
        record.fields = fields
        return True


class TextFormatter(logging.Formatter):
    """`2026-12-01T23:58:01+0000 INFO worker.grading submission_id=12 attempt=1: message`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s",
                         "%Y-%m-%dT%H:%M:%S%z")

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        record.context = "".join(f" {k}={v}" for k, v in fields.items())
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, process, message, the line's fields, the
    record's `extra` values that are plain JSON, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname, "logger": record.name, "process": record.process,
            "message": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) \
                and len(record.args) == 5:  # the access log: client, "METHOD path", status
            line.update(zip(("client", "method", "path", "http", "status"), record.args,
                            strict=True))
        for key, value in record.__dict__.items():
            if key not in _BUILTIN and key not in line and _plain(value):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def _plain(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def formatter(kind: str) -> logging.Formatter:
    """`kind` is one of FORMATS (the settings refuse any other)."""
    return JsonFormatter() if kind == "json" else TextFormatter()


def install(logger: logging.Logger, kind: str,
            fields: Callable[[logging.LogRecord], dict[str, object]] | None = None) -> None:
    """Give each of `logger`'s handlers the format `kind` and the context filter."""
    for handler in logger.handlers:
        handler.setFormatter(formatter(kind))
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter(fields))


class HideSignInLinks(logging.Filter):
    """An access log line never holds a usable sign-in link: the token in
    `/login/link/<token>` is written as `…` (the link's path is all a reader needs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, str) and "/login/link/" in a
                                           for a in args):
            record.args = tuple(_hide_link(a) if isinstance(a, str) else a for a in args)
        return True


def _hide_link(text: str) -> str:
    head, sep, tail = text.partition("/login/link/")
    if not sep:
        return text
    rest = tail.split("?", 1)[1] if "?" in tail else ""
    return f"{head}{sep}…" + (f"?{rest}" if rest else "")
