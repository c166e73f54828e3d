"""What operators and their probes talk to: liveness, readiness, metrics, request ids and request timing.

``/healthz``, ``/readyz`` and ``/metrics`` are answered by ``ProbeMiddleware``, first in the chain, before
anything reads the Host header: a container health check on ``127.0.0.1`` gets its answer whatever
``ALLOWED_HOSTS`` names (Django's host check answered 400 and logged a traceback per probe), and no redirect
to HTTPS (``SECURE_SSL_REDIRECT``) gets in the way. Nothing in these answers is built from the Host header, so
skipping its validation exposes nothing. ``/metrics`` answers local callers, or anyone presenting
``METRICS_TOKEN`` as a bearer token; everyone else gets 404.

``ObservedApp`` wraps the whole WSGI application (the queue's fast lane included, which bypasses Django's
middleware): it gives each request an id (``X-Request-ID``, kept from nginx or made here), times it and counts
it per route group. The time is the application's: the body of a streamed download is sent after it.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from core import metrics
from core.logging import clean_request_id, request_id_var

logger = logging.getLogger(__name__)

# Route groups: few and stable (a label value each), first match wins.
ROUTE_GROUPS = [
    ("queue_next", re.compile(r"^/api/v1/campaigns/\d+/next/$")),
    ("queue_submit", re.compile(r"^/api/v1/assignments/\d+/submit/$")),
    ("queue_other", re.compile(r"^/api/v1/assignments/\d+/")),
    ("exports", re.compile(r"^/api/v1/.*exports")),
    ("api", re.compile(r"^/api/")),
    ("label", re.compile(r"^/label/")),
    ("admin", re.compile(r"^/admin/")),
    ("accounts", re.compile(r"^/accounts/")),
    ("media", re.compile(r"^/(assets|media)/")),
    ("static", re.compile(r"^/static/")),
    ("probes", re.compile(r"^/(healthz|readyz|metrics)$")),
]


def route_group(path: str) -> str:
    for name, pattern in ROUTE_GROUPS:
        if pattern.match(path):
            return name
    return "pages"


class ObservedApp:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        request_id = clean_request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ["HTTP_X_REQUEST_ID"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_code = [500]

        def start(status, headers, exc_info=None):
            status_code[0] = int(status[:3])
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, start)
        finally:
            metrics.count_request(route_group(environ.get("PATH_INFO", "")), environ.get("REQUEST_METHOD", ""),
                                  status_code[0], time.perf_counter() - started)
            request_id_var.reset(token)


def wrap(app):
    return ObservedApp(app)


# --- probes -------------------------------------------------------------------------------------------
def _is_local(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class ProbeMiddleware:
    PATHS = {"/healthz", "/readyz", "/metrics"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info not in self.PATHS:
            return self.get_response(request)
        view = {"/healthz": healthz, "/readyz": readyz}.get(request.path_info, metrics_view)
        response = view(request)
        # Set here: the middleware that would (CommonMiddleware) comes later in the chain, and without the
        # length gunicorn sends the body chunked.
        response["Content-Length"] = str(len(response.content))
        return response


def healthz(request):
    """Liveness: the process answers. No dependency is checked (a database outage must not restart it)."""
    return JsonResponse({"status": "ok"})


_migrations_applied = False  # once true in this process it stays true (until the next deploy restarts it)


def _check_migrations() -> str:
    global _migrations_applied
    if not _migrations_applied:
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            return f"pending: {len(pending)} migration(s), first {pending[0][0].app_label}.{pending[0][0].name}"
        _migrations_applied = True
    return "ok"


def _check_database() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "ok (embedded: tasks run in process)"
    from celery import current_app

    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _check_storage() -> str:
    """The media storage answers (a listing of its root: local folder or bucket); nothing is written."""
    from django.core.files.storage import default_storage

    default_storage.listdir("")
    return "ok"


def readyz(request):
    """Readiness: database, broker, media storage and migrations; 200 when all are ok, else 503 naming them."""
    checks: dict[str, str] = {}
    for name, check in (("database", _check_database), ("migrations", _check_migrations),
                        ("broker", _check_broker), ("storage", _check_storage)):
        try:
            checks[name] = check()
        except FileNotFoundError:
            checks[name] = "ok (empty)" if name == "storage" else "down: FileNotFoundError"
        except Exception as exc:  # noqa: BLE001 - any failure is "down", named, without a traceback
            checks[name] = f"down: {type(exc).__name__}"
            if name == "database":
                checks["migrations"] = "unknown"
                break
    healthy = all(value.startswith("ok") for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", "checks": checks}, status=200 if healthy else 503)


def metrics_view(request):
    token = getattr(settings, "METRICS_TOKEN", "")
    header = request.META.get("HTTP_AUTHORIZATION", "")
    allowed = _is_local(request.META.get("REMOTE_ADDR", "")) and "HTTP_X_FORWARDED_FOR" not in request.META
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        allowed = True
    if not allowed:
        return HttpResponse(status=404)
    from web.ops_gauges import ScrapeTimeGauges

    body, content_type = metrics.render([ScrapeTimeGauges()])
    return HttpResponse(body, content_type=content_type)
