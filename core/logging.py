"""One log format for every process: JSON lines (or text for development), times in UTC, with request ids.

A request id comes from the ``X-Request-ID`` header (nginx sets one, platform/nginx.conf) or is made here
(web/ops.py); it travels into the Celery tasks that request publishes (config/celery_app.py) so a task's lines
can be found from the request that caused it. Times are UTC with a ``Z`` whatever the process's time zone
(Django sets TZ to TIME_ZONE in every process that loads it, which is why gunicorn's workers logged +07:00
while their master logged UTC); gunicorn uses these formatters too (platform/gunicorn.conf.py).
"""
from __future__ import annotations

import contextvars
import logging
import time
import uuid

import orjson

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
task_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("task_id", default="")

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id", "task_id"}


def new_request_id() -> str:
    return uuid.uuid4().hex


def clean_request_id(value: str | None) -> str:
    """A caller's id if it is short and printable, else a new one (never trust it to be safe in logs)."""
    if value and len(value) <= 64 and value.replace("-", "").replace("_", "").replace(".", "").isalnum():
        return value
    return new_request_id()


def _utc(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": _utc(record), "level": record.levelname, "logger": record.name,
                 "message": record.getMessage(), "process": record.process}
        request_id = getattr(record, "request_id", "") or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        task_id = task_id_var.get()
        if task_id:
            entry["task_id"] = task_id
        for key, value in vars(record).items():  # extra={...} fields
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """Readable lines for development, still in UTC and with the request id."""

    converter = time.gmtime

    def __init__(self):
        super().__init__("%(asctime)sZ %(levelname)s %(name)s [%(request_id)s] %(message)s", "%Y-%m-%dT%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", "") or request_id_var.get() or "-"
        return super().format(record)
