"""A fresh machine, as the README runs it: platform/run.sh on a new database and a new Redis (issue 21).

migrate + collectstatic, bootstrap, gunicorn (platform/gunicorn.conf.py), two named workers and beat; then
/readyz from 127.0.0.1 while ALLOWED_HOSTS names only the public host, a campaign made and filled through the
API with the bootstrap token (the import runs on the scoring worker), a label cycle through the queue's fast
lane, and /metrics showing it, the workers' samples included. PostgreSQL only (pg and a Redis server binary).
"""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import time
import uuid

import psycopg
import pytest
from django.db import connection

from tests.helpers import ROOT, database_url, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PUBLIC_HOST = "annotate.example.vn"

CONTRIBUTOR = """
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from contributors.models import ContributorProfile
u = get_user_model().objects.create_user(username="lan@example.vn", email="lan@example.vn", password="Lua-Nuoc-2026!")
EmailAddress.objects.create(user=u, email=u.email, verified=True, primary=True)
ContributorProfile.objects.create(user=u, display_name="Lan", birth_year=1995, region="north",
    province="Thành phố Hà Nội", consent_version="2025-1", consent_at=timezone.now())
s = SessionStore()
s["_auth_user_id"], s["_auth_user_backend"], s["_auth_user_hash"] = str(u.pk), "core.auth_backends.ModelBackend", u.get_session_auth_hash()
s.create()
print("SESSION=" + s.session_key)
"""


def _call(port, method, path, *, host=PUBLIC_HOST, token=None, session=None, body=None, files=None):
    headers = {"Host": host}
    if token:
        headers["Authorization"] = f"Token {token}"
    if session:
        headers.update({"Cookie": f"sessionid={session}; csrftoken={'a' * 32}", "X-CSRFToken": "a" * 32,
                        "Origin": f"http://{host}", "Referer": f"http://{host}/label/"})
    data = None
    if files:
        boundary = uuid.uuid4().hex
        name, content = files
        data = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    elif body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=data, headers=headers)
    res = conn.getresponse()
    raw = res.read()
    conn.close()
    try:
        return res.status, json.loads(raw) if raw and res.getheader("Content-Type", "").startswith("application/json") else raw.decode()
    except ValueError:
        return res.status, raw.decode(errors="replace")


@pytest.fixture
def fresh_services(tmp_path):
    if connection.vendor != "postgresql" or not shutil.which("redis-server"):
        pytest.skip("needs PostgreSQL and a redis-server binary")
    name = f"fresh_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_url = database_url(connection.settings_dict).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as pg:
        pg.execute(f'CREATE DATABASE "{name}"')
    redis_port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no",
                              "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL)
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}", f"redis://127.0.0.1:{redis_port}/0", tmp_path
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        with psycopg.connect(admin_url, autocommit=True) as pg:
            pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_readme_deployment_on_a_fresh_machine(fresh_services):
    db_url, redis_url, tmp = fresh_services
    started = time.monotonic()
    port = free_port()
    state = tmp / "state"
    token_file = tmp / "token"
    env = {k: v for k, v in os.environ.items() if k not in {"TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG",
                                                              "CELERY_TASK_ALWAYS_EAGER", "PROMETHEUS_MULTIPROC_DIR"}}
    env.update({"DATABASE_URL": db_url, "REDIS_URL": redis_url, "SECRET_KEY": uuid.uuid4().hex * 2,
                "ALLOWED_HOSTS": PUBLIC_HOST, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
                "CELERY_CONCURRENCY": "1", "STATE_DIR": str(state), "MEDIA_ROOT": str(tmp / "media"),
                "PRIVATE_MEDIA_ROOT": str(tmp / "private"), "CONSENSUS_DEBOUNCE_SECONDS": "0.3",
                "DJANGO_LANGUAGE_CODE": "en", "BOOTSTRAP_ADMIN_EMAIL": "root@example.vn",
                "BOOTSTRAP_ADMIN_PASSWORD": "Sao-Khue-2026!", "BOOTSTRAP_ORG_NAME": "Lab Hà Nội",
                "BOOTSTRAP_MANAGER_EMAIL": "pm@example.vn", "BOOTSTRAP_TOKEN_FILE": str(token_file)})
    run = subprocess.run(["bash", "platform/run.sh", "start"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    marks = {"run.sh start": time.monotonic() - started}
    # The contributor (sign-up and e-mail confirmation are other tests' business), made while the rest goes on.
    made = subprocess.Popen([str(ROOT / ".venv/bin/python"), "manage.py", "shell", "-c", CONTRIBUTOR], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        token = token_file.read_text().strip()
        wait_for(lambda: _probe(port, "/healthz") == 200, timeout=60)
        status, ready = _call(port, "GET", "/readyz", host="127.0.0.1")
        assert status == 200, ready
        assert ready["checks"]["migrations"] == "ok" and ready["checks"]["broker"] == "ok"

        status, campaign = _call(port, "POST", "/api/v1/campaigns/", token=token,
                                 body={"name": "Kiểm duyệt", "task_type": "moderation", "overlap": 1, "max_overlap": 1})
        assert status == 201, campaign
        lines = "\n".join(json.dumps({"text": f"Bình luận {i}"}, ensure_ascii=False) for i in range(3)).encode()
        status, job = _call(port, "POST", f"/api/v1/campaigns/{campaign['id']}/imports/", token=token,
                            files=("items.jsonl", lines))
        assert status == 202, job
        wait_for(lambda: _call(port, "GET", f"/api/v1/imports/{job['id']}/", token=token)[1]["status"] == "succeeded",
                 timeout=20)  # the scoring worker ran the import
        assert _call(port, "PATCH", f"/api/v1/campaigns/{campaign['id']}/", token=token,
                     body={"status": "active"})[0] == 200

        marks["import"] = time.monotonic() - started
        out, err = made.communicate(timeout=60)
        session = re.search(r"SESSION=(\w+)", out).group(1)
        status, lease = _call(port, "POST", f"/api/v1/campaigns/{campaign['id']}/next/", session=session)
        assert status == 200, lease
        assignment = lease["assignment"]["id"]
        status, answer = _call(port, "POST", f"/api/v1/assignments/{assignment}/submit/", session=session,
                               body={"payload": {"categories": ["safe"]}})
        assert status in (200, 201), answer

        def scraped():
            status, text = _call(port, "GET", "/metrics", host="127.0.0.1")
            assert status == 200
            return text if "annotate_consensus_lag_seconds_count 1.0" in text else None

        marks["label cycle"] = time.monotonic() - started
        text = wait_for(scraped, timeout=20)
        marks["consensus in /metrics"] = time.monotonic() - started  # the consensus worker finalised the item and says how long it took
        for line in ['annotate_http_requests_total{group="queue_next",method="POST",status="2xx"} 1.0',
                     'annotate_http_requests_total{group="queue_submit",method="POST",status="2xx"} 1.0',
                     'annotate_queue_leases_total{outcome="leased"} 1.0',
                     'annotate_queue_submits_total{outcome="accepted"} 1.0',
                     "annotate_queue_open_leases 0.0"]:
            assert line in text, line
        assert [line for line in text.splitlines() if line.startswith("annotate_celery_task_duration_seconds_count{")
                and 'outcome="success"' in line and 'task="tasks.' in line]  # a worker's sample, merged
        assert re.search(r'annotate_celery_queue_length\{queue="default"\} \d', text)
        assert _call(port, "GET", "/metrics", host=PUBLIC_HOST)[0] == 200  # local caller, any host
        assert _call(port, "GET", "/label/", host="127.0.0.1")[0] == 400  # the rest still checks hosts
    finally:
        pids = [int(p.read_text()) for p in (state / "run").glob("*.pid")]
        subprocess.run(["bash", "platform/run.sh", "stop"], cwd=ROOT, env=env, timeout=30)
        _wait_stopped(pids)
    logs = {p.stem: p.read_text() for p in (state / "logs").glob("*.log")}
    assert "scoring@" in logs["worker-scoring"] and "export@" in logs["worker-export"]
    assert "DuplicateNodenameWarning" not in logs["worker-scoring"] + logs["worker-export"]
    assert list(state.glob("celerybeat-schedule*")) and not list(ROOT.glob("celerybeat-schedule*"))
    web_lines = [json.loads(line) for line in logs["web"].splitlines() if line.startswith("{")]
    assert web_lines and all(line["ts"].endswith("Z") for line in web_lines)  # master and workers: UTC
    assert len({line["process"] for line in web_lines}) > 1  # lines from the master and from its workers
    probe_lines = [line for line in web_lines if re.search(r"/(healthz|readyz|metrics)\b", line["message"])]
    assert probe_lines and not [line for line in probe_lines if "exc" in line]  # probes: no tracebacks
    print("fresh-machine run (s since start):", {k: round(v, 1) for k, v in marks.items()})


def _probe(port, path):
    try:
        return _call(port, "GET", path, host="127.0.0.1")[0]
    except OSError:
        return None


def _wait_stopped(pids):
    deadline = time.time() + 30
    while time.time() < deadline:
        alive = []
        for pid in pids:
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            return
        time.sleep(0.2)
    for pid in alive:
        os.kill(pid, 9)
