"""Helpers for tests that drive real processes: polling, HTTP over sockets, gunicorn, many users."""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

from config.gunicorn_worker import WORKER_CLASS

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    """Poll until predicate() is truthy; returns its value, or fails the test after ``timeout``."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_call(port: int, method: str, path: str, *, session: str | None = None, body=None, headers=None,
              drop_response: bool = False):
    """One HTTP request; with a session cookie and a CSRF pair for session-authenticated APIs.

    ``drop_response`` closes the socket before reading the answer (a client that vanished).
    Returns (status, decoded JSON or {"raw": text}).
    """
    csrf = "a" * 32
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    if session:
        hdrs.update({"Cookie": f"sessionid={session}; csrftoken={csrf}", "X-CSRFToken": csrf})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=hdrs)
    if drop_response:
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
        return None, None
    res = conn.getresponse()
    data = res.read()
    conn.close()
    try:
        return res.status, (json.loads(data) if data else {})
    except ValueError:
        return res.status, {"raw": data[:300].decode(errors="replace")}


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for another process to reach the database this test process uses."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


@contextlib.contextmanager
def gunicorn(env_overrides: dict, *, workers: int = 2, threads: int = 1, log_name: str = "gunicorn.log"):
    """A real gunicorn serving the project on a free port; yields the port."""
    from django.conf import settings

    env = {**os.environ, "DEBUG": "0", "TESTING": "1", "ALLOWED_HOSTS": "127.0.0.1",
           "SECRET_KEY": settings.SECRET_KEY, **env_overrides}  # same key: sessions are signed
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    for key in [k for k, v in env.items() if v is None]:
        env.pop(key)
    port = free_port()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    args = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}",
            "-w", str(workers), "--timeout", "60", "--backlog", "512"]
    # The worker classes of platform/gunicorn.conf.py: gthread with threads, else the corked sync worker.
    args += ["--threads", str(threads), "-k", "gthread"] if threads > 1 else ["-k", WORKER_CLASS]
    with open(ROOT / "test-artifacts" / log_name, "w") as log:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.time() + 30
            while time.time() < deadline:
                try:
                    if http_call(port, "GET", "/healthz")[0] in (200, 503):
                        break
                except OSError:
                    time.sleep(0.3)
            yield port
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def bulk_contributors(n: int, *, region: str = "north") -> list[tuple[object, str]]:
    """Many verified contributors fast (no password hashing), each with a logged-in session key."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from contributors.models import ContributorProfile

    User = get_user_model()
    tag = secrets.token_hex(3)
    users = User.objects.bulk_create(
        User(username=f"load-{tag}-{i}@example.com", email=f"load-{tag}-{i}@example.com", password="!")
        for i in range(n)
    )
    EmailAddress.objects.bulk_create(EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users)
    ContributorProfile.objects.bulk_create(
        ContributorProfile(user=u, display_name=f"Người {i}", birth_year=1990, region=region,
                           province="Thành phố Hà Nội", consent_version="2025-1", consent_at=timezone.now())
        for i, u in enumerate(users)
    )
    out = []
    for user in users:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "core.auth_backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        out.append((user, store.session_key))
    return out


def wait_for_celery_idle(timeout: float = 30.0) -> None:
    """Block until a running worker has no active, reserved or scheduled task (no-op when eager).

    A transactional test's teardown truncates every table; a scoring job still writing at that moment
    deadlocks the TRUNCATE. Tests that submit through a live server call this before they end.
    """
    from django.conf import settings

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    from config.celery_app import app

    def queued() -> int:
        with app.connection_for_write() as conn:
            client = conn.default_channel.client
            return sum(client.llen(queue) for queue in ("default", "consensus", "export"))

    deadline = time.time() + timeout
    while time.time() < deadline:
        inspect = app.control.inspect(timeout=1.0, limit=1)  # one worker: answer as soon as it replies
        replies = [inspect.active() or {}, inspect.reserved() or {}, inspect.scheduled() or {}]
        if not any(tasks for reply in replies for tasks in reply.values()) and not queued():
            return
        time.sleep(0.2)
