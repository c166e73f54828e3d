"""Gunicorn settings for the web process. Stateless: scale by adding processes or machines."""
import multiprocessing
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this file is read before gunicorn's --chdir puts the project on the path

from core.metrics_dir import metrics_root, use_multiprocess_dir  # noqa: E402

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("WEB_THREADS", "1"))
# sync: gunicorn's sync worker with each small response in one TCP segment (config.gunicorn_worker.WORKER_CLASS).
worker_class = "gthread" if threads > 1 else "config.gunicorn_worker.CorkedSyncWorker"
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
# No %(t)s: the formatter stamps every line in UTC (core/logging.py); the request id ties it to the app's lines.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
_FORMAT = os.environ.get("LOG_FORMAT", "text" if os.environ.get("DEBUG") == "1" else "json")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}, "text": {"()": "core.logging.TextFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": _FORMAT, "stream": "ext://sys.stderr"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}


def on_starting(server):
    """One samples folder for this gunicorn (prometheus multiprocess mode), emptied at its start; the workers
    fork from the master and inherit it before they import prometheus-client."""
    use_multiprocess_dir(metrics_root(), os.environ.get("METRICS_FAMILY", "web"), clear=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
