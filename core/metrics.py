"""Prometheus metrics of the platform (prometheus-client), safe across gunicorn and Celery processes.

Every process writes its samples to files under ``METRICS_DIR/<family>/`` (prometheus-client's multiprocess
mode: the ``PROMETHEUS_MULTIPROC_DIR`` of that process, set by ``use_multiprocess_dir`` before the first metric
is made, core/metrics_dir.py): ``web`` for gunicorn's workers (platform/gunicorn.conf.py), ``celery-<node>`` for each Celery worker
node and ``beat`` (config/celery_app.py). ``/metrics`` (web/ops.py) merges every family's files, so the web
process also shows the Celery workers' counters when they share the folder (one host, or a shared volume).
Without a folder (tests, ``runserver``) the metrics live in the process.

The app layers call the small ``observe_*``/``count_*`` helpers below, never prometheus-client itself: one
place names the metrics and their labels, and ``METRICS=0`` turns every helper into a no-op (the queue bench
measures the cost with it on and off).
"""
from __future__ import annotations

import glob
import os
from pathlib import Path

from prometheus_client import Counter, Histogram

ENABLED = os.environ.get("METRICS", "1").strip().lower() not in {"0", "false", "no", "off"}

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10)
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)

HTTP_REQUESTS = Counter("annotate_http_requests", "HTTP requests by route group, method and status class",
                        ["group", "method", "status"])
HTTP_LATENCY = Histogram("annotate_http_request_duration_seconds", "HTTP request duration by route group",
                         ["group"], buckets=_LATENCY_BUCKETS)
QUEUE_LEASES = Counter("annotate_queue_leases", "next-task outcomes: leased, or the no-work reason code",
                       ["outcome"])
QUEUE_SUBMITS = Counter("annotate_queue_submits", "Submitted answers (replayed: an Idempotency-Key replay)",
                        ["outcome"])
QUEUE_EXPIRED = Counter("annotate_queue_expired_leases", "Leases reclaimed after their expiry")
CONSENSUS_LAG = Histogram("annotate_consensus_lag_seconds",
                          "From an item's last answer to its consensus being finalised",
                          buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400))
CELERY_TASK_DURATION = Histogram("annotate_celery_task_duration_seconds", "Celery task run time",
                                 ["task", "outcome"], buckets=_JOB_BUCKETS)
EXPORT_DURATION = Histogram("annotate_export_duration_seconds", "Dataset export build time",
                            ["format", "status"], buckets=_JOB_BUCKETS)
EXPORT_SIZE = Histogram("annotate_export_size_bytes", "Dataset export archive size", ["format"],
                        buckets=tuple(10**k for k in range(3, 12)))
AUTHENTICITY_FLAGS = Counter("annotate_authenticity_flags", "Answers flagged by authenticity scoring",
                             ["task_type"])


_children: dict[tuple, object] = {}  # labelled children resolved once: .labels() locks and builds a key per call


def _child(metric, *values: str):
    key = (metric, values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def count_request(group: str, method: str, status: int, seconds: float) -> None:
    """Per request on the hot path (web/ops.py): two sample writes, children cached. Label values stay a
    small fixed set (a client's invented method is "other"): a label per value would grow without bound."""
    if ENABLED:
        _child(HTTP_REQUESTS, group, method if method in _METHODS else "other", f"{status // 100}xx").inc()
        _child(HTTP_LATENCY, group).observe(seconds)


def count_lease(outcome: str) -> None:
    if ENABLED:
        _child(QUEUE_LEASES, outcome).inc()


def count_submit(*, replayed: bool) -> None:
    if ENABLED:
        _child(QUEUE_SUBMITS, "replayed" if replayed else "accepted").inc()


def count_expired(n: int) -> None:
    if ENABLED and n:
        QUEUE_EXPIRED.inc(n)


def observe_consensus_lag(seconds: float) -> None:
    if ENABLED:
        CONSENSUS_LAG.observe(max(0.0, seconds))


def observe_task(task: str, outcome: str, seconds: float) -> None:
    if ENABLED:
        CELERY_TASK_DURATION.labels(task, outcome).observe(seconds)


def observe_export(fmt: str, status: str, seconds: float, size_bytes: int | None) -> None:
    if ENABLED:
        EXPORT_DURATION.labels(fmt, status).observe(seconds)
        if size_bytes is not None:
            EXPORT_SIZE.labels(fmt).observe(size_bytes)


def count_authenticity_flag(task_type: str) -> None:
    if ENABLED:
        AUTHENTICITY_FLAGS.labels(task_type).inc()


def mark_process_dead(pid: int) -> None:
    """Drop a finished process's live gauges (its counters stay: they are totals)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


class _AllFamilies:
    """Merges the sample files of every process family under the metrics root (see the module docstring)."""

    def __init__(self, root: str):
        self.root = root

    def collect(self):
        from prometheus_client.multiprocess import MultiProcessCollector

        files = sorted(glob.glob(os.path.join(self.root, "*", "*.db")))
        return MultiProcessCollector.merge(files, accumulate=True)


def render(extra_collectors=()) -> tuple[bytes, str]:
    """The exposition text: this process's or every family's samples, plus gauges read at scrape time."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    own_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if own_dir:
        registry = CollectorRegistry()
        registry.register(_AllFamilies(str(Path(own_dir).parent)))
    else:
        registry = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):  # this process's metrics
            registry.register(collector)
    for collector in extra_collectors:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST
