"""Operations: first start (manage.py bootstrap), probes, metrics, request ids and logs (issue 21)."""
from __future__ import annotations

import io
import json
import logging

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from organizations.models import ApiToken, Membership, Organization
from organizations.services import hash_token_secret


def _bootstrap(*args, **env) -> str:
    out = io.StringIO()
    call_command("bootstrap", "--no-input", *args, stdout=out)
    return out.getvalue()


FLAGS = ["--admin-email", "root@example.vn", "--admin-password", "Sao-Khue-2026!", "--org-name", "Nhóm AI Hà Nội",
         "--manager-email", "pm@example.vn", "--manager-password", "Hoa-Sen-2026!"]


@pytest.mark.django_db
def test_bootstrap_creates_admin_org_manager_and_token_once(tmp_path):
    token_file = tmp_path / "token"
    out = _bootstrap(*FLAGS, "--token-file", str(token_file))
    assert "platform admin: root@example.vn created" in out and "key written to" in out
    User = get_user_model()
    admin, manager = User.objects.get(email="root@example.vn"), User.objects.get(email="pm@example.vn")
    assert admin.is_superuser and admin.is_staff and admin.check_password("Sao-Khue-2026!")
    assert manager.is_staff and not manager.is_superuser and manager.check_password("Hoa-Sen-2026!")
    assert manager.groups.filter(name="Project managers").exists()  # the role's permissions (review.roles)
    org = Organization.objects.get(slug="nhom-ai-ha-noi")
    assert Membership.objects.get(organization=org, user=manager).role == Membership.Role.MANAGER
    key = token_file.read_text().strip()
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    token = ApiToken.objects.get(organization=org)
    assert token.key_hash == hash_token_secret(key.split(".", 1)[1]) and token.is_active

    again = _bootstrap(*FLAGS[:2], "--admin-password", "another-Pass-99", *FLAGS[4:])
    assert "created" not in again.replace("exists, kept", "")
    assert "exists; its key was shown" in again
    assert User.objects.filter(email__in=["root@example.vn", "pm@example.vn"]).count() == 2
    assert ApiToken.objects.count() == 1 and Organization.objects.count() == 1
    assert User.objects.get(email="root@example.vn").check_password("Sao-Khue-2026!")  # never reset


@pytest.mark.django_db
def test_bootstrap_from_environment_and_clear_errors(monkeypatch):
    for name, value in {"BOOTSTRAP_ADMIN_EMAIL": "ops@example.vn", "BOOTSTRAP_ADMIN_PASSWORD": "Ruong-Bac-2026!",
                        "BOOTSTRAP_ORG_NAME": "Lab", "BOOTSTRAP_ORG_SLUG": "lab",
                        "BOOTSTRAP_MANAGER_EMAIL": "lead@example.vn"}.items():
        monkeypatch.setenv(name, value)
    out = _bootstrap()
    assert "API token: bootstrap created; key (shown once): " in out
    manager = get_user_model().objects.get(email="lead@example.vn")
    assert not manager.has_usable_password()  # set later through "forgot password"
    assert Organization.objects.filter(slug="lab").exists()

    monkeypatch.delenv("BOOTSTRAP_ADMIN_EMAIL")
    with pytest.raises(CommandError, match="admin-email.*BOOTSTRAP_ADMIN_EMAIL"):
        _bootstrap()
    with pytest.raises(CommandError, match="admin-password: .*too short"):
        _bootstrap("--admin-email", "new@example.vn", "--admin-password", "short")
    with pytest.raises(CommandError, match="manager-email: 'nope' is not an e-mail"):
        _bootstrap("--admin-email", "x@example.vn", "--manager-email", "nope")
    with pytest.raises(CommandError, match="token-scopes: unknown"):
        _bootstrap("--admin-email", "x@example.vn", "--token-scopes", "everything")
    assert not get_user_model().objects.filter(email__in=["new@example.vn", "x@example.vn"]).exists()


# --- probes -----------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_probes_answer_local_callers_whatever_allowed_hosts_says(client, settings, caplog):
    settings.ALLOWED_HOSTS = ["annotate.example.vn"]
    settings.SECURE_SSL_REDIRECT = True
    caplog.set_level(logging.INFO)
    assert client.get("/healthz", HTTP_HOST="127.0.0.1:8000").json() == {"status": "ok"}
    res = client.get("/readyz", HTTP_HOST="127.0.0.1:8000")
    assert res.status_code == 200, res.content
    assert set(res.json()["checks"]) == {"database", "migrations", "broker", "storage"}
    assert client.get("/label/", HTTP_HOST="127.0.0.1:8000").status_code == 400  # the rest still checks hosts
    probe_lines = [r for r in caplog.records if "healthz" in r.getMessage() or "readyz" in r.getMessage()]
    assert not [r for r in probe_lines if r.exc_info], "a probe logged a traceback"


@pytest.mark.django_db
def test_readyz_names_what_is_down(client, settings, monkeypatch):
    from web import ops

    def broken():
        raise ConnectionRefusedError

    monkeypatch.setattr(ops, "_check_broker", broken)
    res = client.get("/readyz")
    assert res.status_code == 503
    assert res.json()["checks"]["broker"] == "down: ConnectionRefusedError"
    assert res.json()["checks"]["database"] == "ok"


def _wsgi_get(path: str, remote: str = "127.0.0.1", **extra):
    from config.wsgi import application

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
               "REMOTE_ADDR": remote, "wsgi.input": io.BytesIO(), "wsgi.url_scheme": "http", "QUERY_STRING": "",
               "HTTP_HOST": "127.0.0.1", **extra}
    status, headers = [], []

    def start_response(s, h, exc_info=None):
        status.append(int(s[:3]))
        headers.extend(h)

    body = b"".join(application(environ, start_response))
    return status[0], dict(headers), body


@pytest.mark.django_db(transaction=True)
def test_metrics_count_route_groups_and_queue_events_and_are_protected(settings, make_campaign, make_contributor):
    from core.metrics import count_lease, count_submit
    from workqueue.lease import lease_next_item
    from workqueue.submit import submit_annotation

    settings.METRICS_TOKEN = "scrape-secret"
    campaign = make_campaign()
    user = make_contributor()
    assignment = lease_next_item(user=user, campaign=campaign)
    submit_annotation(user=user, assignment_id=assignment.pk, payload={"categories": ["safe"]})
    count_lease("leased"), count_submit(replayed=False)
    status, headers, _ = _wsgi_get("/healthz", HTTP_X_REQUEST_ID="probe-123")
    assert status == 200 and headers["X-Request-ID"] == "probe-123"
    assert _wsgi_get("/healthz", HTTP_X_REQUEST_ID="bad id\n")[1]["X-Request-ID"] != "bad id\n"

    status, _, body = _wsgi_get("/metrics")
    text = body.decode()
    assert status == 200
    assert 'annotate_http_requests_total{group="probes",method="GET",status="2xx"}' in text
    assert 'annotate_queue_leases_total{outcome="leased"}' in text
    assert 'annotate_queue_submits_total{outcome="accepted"}' in text
    assert "annotate_queue_open_leases 0.0" in text
    assert "annotate_http_request_duration_seconds_bucket" in text

    assert _wsgi_get("/metrics", remote="203.0.113.9")[0] == 404  # not local, no token
    assert _wsgi_get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9")[0] == 404  # through a local proxy
    assert _wsgi_get("/metrics", remote="203.0.113.9", HTTP_AUTHORIZATION="Bearer scrape-secret")[0] == 200
    assert _wsgi_get("/metrics", remote="203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong")[0] == 404


def test_route_groups():
    from web.ops import route_group

    assert route_group("/api/v1/campaigns/12/next/") == "queue_next"
    assert route_group("/api/v1/assignments/9/submit/") == "queue_submit"
    assert route_group("/api/v1/campaigns/3/exports/") == "exports"
    assert route_group("/api/v1/campaigns/") == "api"
    assert route_group("/label/3/") == "label"
    assert route_group("/readyz") == "probes"
    assert route_group("/me/earnings/") == "pages"


# --- logs ---------------------------------------------------------------------------------------------------
def test_json_logs_are_utc_and_carry_the_request_id(monkeypatch):
    from core.logging import JsonFormatter, TextFormatter, request_id_var

    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")
    import time

    time.tzset()
    try:
        record = logging.LogRecord("web", logging.WARNING, __file__, 1, "Không tìm thấy %s", ("/x",), None)
        record.created = 0.0  # 1970-01-01 00:00 UTC, 07:00 in Hanoi
        record.msecs = 5
        token = request_id_var.set("rid-1")
        try:
            entry = json.loads(JsonFormatter().format(record))
            text = TextFormatter().format(record)
        finally:
            request_id_var.reset(token)
        assert entry["ts"] == "1970-01-01T00:00:00.005Z"
        assert entry["message"] == "Không tìm thấy /x" and entry["request_id"] == "rid-1"
        assert text.startswith("1970-01-01T00:00:00Z WARNING web [rid-1]")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_request_id_rides_into_celery_task_headers():
    from config.celery_app import _process_family, carry_request_id
    from core.logging import request_id_var

    headers = {}
    token = request_id_var.set("rid-42")
    try:
        carry_request_id(headers=headers)
    finally:
        request_id_var.reset(token)
    assert headers == {"request_id": "rid-42"}
    assert _process_family(["celery", "-A", "config", "worker", "-n", "scoring@%h"]) == "celery-scoring"
    assert _process_family(["celery", "-A", "config", "beat"]) == "beat"
    assert _process_family(["gunicorn"]) is None


def test_each_4xx_is_logged_once_with_debug_on(settings, client, caplog):
    """The demo (DEBUG=1) printed each 4xx twice: Django's own console handler and the root's."""
    import logging.config

    from django.utils.log import DEFAULT_LOGGING

    stream = io.StringIO()
    logging.config.dictConfig(DEFAULT_LOGGING)
    logging.config.dictConfig(settings.LOGGING)
    root = logging.getLogger()
    root.handlers[0].stream = stream
    settings.DEBUG = True
    try:
        logging.getLogger("django.request").warning("Not Found: %s", "/nowhere")
    finally:
        settings.DEBUG = False
    assert stream.getvalue().count("Not Found: /nowhere") == 1


def test_grafana_dashboard_queries_only_metrics_the_platform_exports():
    import re
    from pathlib import Path

    from core import metrics

    dashboard = json.loads((Path(__file__).resolve().parent.parent / "platform/grafana-dashboard.json").read_text())
    exported = {m._name for m in vars(metrics).values() if hasattr(m, "_name") and hasattr(m, "_type")}
    exported |= {"annotate_queue_open_leases", "annotate_celery_queue_length"}  # scrape-time gauges (web/ops_gauges.py)
    used = {re.sub(r"_(total|bucket|count|sum)$", "", name) for panel in dashboard["panels"]
            for target in panel["targets"] for name in re.findall(r"annotate_\w+", target["expr"])}
    assert used and used <= exported, used - exported
