"""200 concurrent contributors over HTTP against a real gunicorn: nothing lost, nothing twice.

Every acknowledged submission is stored exactly once, overlap is never exceeded, and a submission
whose response was dropped (connection closed before reading it) is retried with the same
Idempotency-Key and answered with the first result.
"""
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from annotations.models import Annotation
from tasks.models import Assignment, Item

ROOT = Path(__file__).resolve().parents[2]
N_CONTRIBUTORS = 200

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency is proven on PostgreSQL"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bulk_contributors(n: int) -> list:
    """Many verified contributors fast (no password hashing), each with a logged-in session."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from contributors.models import ContributorProfile

    User = get_user_model()
    tag = secrets.token_hex(3)
    users = User.objects.bulk_create(
        User(username=f"load-{tag}-{i}@example.com", email=f"load-{tag}-{i}@example.com", password="!") for i in range(n)
    )
    EmailAddress.objects.bulk_create(EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users)
    ContributorProfile.objects.bulk_create(
        ContributorProfile(user=u, display_name=f"Người {i}", birth_year=1990, region="north",
                           province="Thành phố Hà Nội", consent_version="2025-1", consent_at=timezone.now())
        for i, u in enumerate(users)
    )
    sessions = []
    for user in users:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append(store.session_key)
    return sessions


@pytest.fixture
def gunicorn_server(celery_worker_process):
    from django.conf import settings

    from tests.conftest import _worker_database_url

    env = {**os.environ, "DATABASE_URL": _worker_database_url(connection.settings_dict), "DEBUG": "0",
           "TESTING": "1", "ALLOWED_HOSTS": "127.0.0.1", "SECRET_KEY": settings.SECRET_KEY}  # sessions are signed
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "4",
         "--threads", "8", "-k", "gthread", "--timeout", "60", "--backlog", "512"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(ROOT / "test-artifacts" / "gunicorn-load.log", "w"),
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status in (200, 503):
                break
        except OSError:
            time.sleep(0.3)
    yield port
    proc.terminate()
    proc.wait(timeout=30)


def call(port, method, path, session, body=None, headers=None, drop_response=False):
    csrf = "a" * 32
    hdrs = {"Cookie": f"sessionid={session}; csrftoken={csrf}", "X-CSRFToken": csrf,
            "Content-Type": "application/json", **(headers or {})}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=json.dumps(body or {}), headers=hdrs)
    if drop_response:
        conn.sock.shutdown(socket.SHUT_RDWR)  # the client vanishes before reading the answer
        conn.close()
        return None, None
    res = conn.getresponse()
    data = res.read()
    conn.close()
    try:
        return res.status, (json.loads(data) if data else {})
    except ValueError:
        return res.status, {"raw": data[:300].decode(errors="replace")}


def test_200_concurrent_submitters_store_each_acknowledged_answer_exactly_once(make_campaign, gunicorn_server):
    port = gunicorn_server
    campaign = make_campaign(
        items=[{"payload": {"text": f"Bình luận {i}"}} for i in range(120)], overlap=3, max_overlap=3
    )
    sessions = bulk_contributors(N_CONTRIBUTORS)
    acked: list[tuple[int, int]] = []  # (annotation_id, assignment_id)
    replays: list[tuple[int, int]] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(N_CONTRIBUTORS)

    def contributor(index: int, session: str):
        try:
            start.wait(timeout=60)
            for round_ in range(2):
                status, body = call(port, "POST", f"/api/v1/campaigns/{campaign.pk}/next/", session)
                if status != 200:
                    raise AssertionError(f"next: {status} {body}")
                assignment = body["assignment"]
                if assignment is None:
                    return
                path = f"/api/v1/assignments/{assignment['id']}/submit/"
                payload = {"payload": {"categories": ["safe" if index % 3 else "spam"]}, "time_spent_ms": 1000}
                key = f"{session[:8]}-{round_}"
                if index % 10 == 0:
                    call(port, "POST", path, session, payload, {"Idempotency-Key": key}, drop_response=True)
                    time.sleep(0.05)
                status, body = call(port, "POST", path, session, payload, {"Idempotency-Key": key})
                if status not in (200, 201):
                    raise AssertionError(f"submit: {status} {body}")
                with lock:
                    acked.append((body["annotation_id"], assignment["id"]))
                    if index % 10 == 0:
                        replays.append((status, body["annotation_id"]))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            with lock:
                errors.append(f"{index}: {exc!r}")

    threads = [threading.Thread(target=contributor, args=(i, s)) for i, s in enumerate(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:5]
    assert len(acked) == 360  # 120 items x overlap 3; the other 40 requests were told there is no work
    stored = Counter(Annotation.objects.filter(campaign=campaign).values_list("id", flat=True))
    acked_ids = Counter(annotation_id for annotation_id, _ in acked)
    assert set(acked_ids) == set(stored)  # every acknowledged answer is stored, nothing unacknowledged
    assert all(count == 1 for count in acked_ids.values())  # and each exactly once
    assert Annotation.objects.filter(campaign=campaign).count() == 360  # 120 items x overlap 3
    assert Assignment.objects.filter(campaign=campaign, state="submitted").count() == 360
    for item in Item.objects.filter(campaign=campaign):
        assert item.done_count == Annotation.objects.filter(item=item).count() <= item.target_overlap
        assert item.leased_count == 0
    pairs = Annotation.objects.filter(campaign=campaign).values_list("item_id", "contributor_id")
    assert len(set(pairs)) == len(pairs)  # nobody answered an item twice
    assert replays and all(status in (200, 201) for status, _ in replays)
