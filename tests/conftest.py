"""Shared fixtures: users, campaigns, an API client, a real Celery worker, and the browser."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import database_url

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from the
# test body are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Subprocesses (the Celery worker, gunicorn) store and serve English messages, like english_interface below.
os.environ.setdefault("DJANGO_LANGUAGE_CODE", "en")

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def english_interface(settings):
    """The interface defaults to Vietnamese (LANGUAGE_CODE = "vi"); tests read the English source
    messages unless the request asks for another language (a vi-VN browser gets Vietnamese).
    tests/test_i18n.py checks the real default."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def org(db):
    from organizations.models import Organization

    return Organization.objects.create(name="Lab A", slug="lab-a")


@pytest.fixture
def other_org(db):
    from organizations.models import Organization

    return Organization.objects.create(name="Lab B", slug="lab-b")


@pytest.fixture
def make_contributor(db):
    """A verified contributor with a complete profile (verification level 2)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from contributors.models import ContributorProfile

    counter = {"n": 0}

    def make(email: str | None = None, *, region: str = "north", password: str = "correct-horse-42") -> object:
        counter["n"] += 1
        email = email or f"c{counter['n']}-{time.monotonic_ns()}@example.com"
        user = get_user_model().objects.create_user(username=email, email=email, password=password)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        ContributorProfile.objects.create(
            user=user, display_name=f"Người {counter['n']}", birth_year=1990, region=region,
            province="Thành phố Hà Nội", consent_version="2025-1", consent_at=timezone.now(),
        )
        return user

    return make


@pytest.fixture
def make_campaign(db, org):
    from tasks.models import Campaign, Item
    from tasks.services import create_campaign, new_item

    def make(task_type: str = "moderation", *, items: list[dict] | None = None, organization=None, **fields):
        fields.setdefault("overlap", 3)
        campaign = create_campaign(organization=organization or org, name=f"{task_type} campaign", task_type=task_type, **fields)
        if items is None:
            items = [{"payload": {"text": f"Bình luận số {i}"}} for i in range(5)]
        task = campaign.task
        Item.objects.bulk_create(
            new_item(campaign, payload=task.validate_item(e["payload"], campaign.config), gold_answer=e.get("gold_answer"))
            for e in items
        )
        campaign.status = Campaign.Status.ACTIVE
        campaign.save(update_fields=["status"])
        return campaign

    return make


@pytest.fixture
def api_token(db, org):
    from organizations.models import ApiToken
    from organizations.services import create_api_token

    def make(organization=None, scopes=(ApiToken.Scope.READ_DATASETS, ApiToken.Scope.MANAGE_CAMPAIGNS)):
        _token, key = create_api_token(organization=organization or org, name="test", scopes=list(scopes))
        return key

    return make


@pytest.fixture
def token_client(api_token):
    from rest_framework.test import APIClient

    def make(organization=None, **kwargs):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(organization, **kwargs)}")
        return client

    return make


# --- a real Celery worker ----------------------------------------------------------------------


@pytest.fixture
def eager_tasks(settings):
    """Run Celery tasks in process even when a broker is configured: these tests check what the jobs do
    (tests/test_consensus_worker.py runs them through a real worker)."""
    from config.celery_app import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


_worker_running = {"yes": False}


@pytest.fixture(autouse=True)
def _celery_idle_before_flush(request):
    """After a transactional test, let the real worker finish its jobs before the tables are truncated
    (a job still writing deadlocks pytest-django's TRUNCATE and leaks rows into the next test)."""
    yield
    transactional = "live_server" in request.fixturenames or "transactional_db" in request.fixturenames or any(
        m.kwargs.get("transaction") for m in request.node.iter_markers("django_db"))
    if transactional and _worker_running["yes"]:
        from tests.helpers import wait_for_celery_idle

        wait_for_celery_idle(timeout=60)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` process on the test database when a broker is configured.

    Without a broker (the embedded default) tasks run in process, eagerly, and this yields None.
    """
    from django.conf import settings
    from django.db import connection

    if settings.CELERY_TASK_ALWAYS_EAGER:
        yield None
        return
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url(connection.settings_dict)
    env["CELERY_TASK_ALWAYS_EAGER"] = "0"
    env["CONSENSUS_DEBOUNCE_SECONDS"] = "0.2"
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "celery-worker.log", "w")  # noqa: SIM115 - closed at teardown
    from config.celery_app import app

    app.control.purge()
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default,consensus,export,assist",
         "-c", "2", "--pool", "prefork", "-l", "info", "-n", f"test-{os.getpid()}@%h", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if app.control.ping(timeout=1.0):
                break
        except Exception:  # noqa: BLE001 - the broker may still be starting
            pass
        if proc.poll() is not None:
            raise RuntimeError("celery worker exited at start; see test-artifacts/celery-worker.log")
    else:
        proc.kill()
        raise RuntimeError("celery worker did not answer within 60 s")
    _worker_running["yes"] = True
    yield proc
    _worker_running["yes"] = False
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (the test command does)")
    return {
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """Playwright evaluates wait_for_function strings with eval, which the site's CSP forbids;
    tests bypass CSP for their own probes (tests/security checks the CSP header itself)."""
    return {**browser_context_args, "bypass_csp": True, "locale": "vi-VN"}


@pytest.fixture
def artifacts_dir():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def browser_login(live_server):
    """Log a browser page in through the real allauth form."""

    def login(page, email: str, password: str = "correct-horse-42"):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=login]", email)
        page.fill("input[name=password]", password)
        page.click("form[action*='login'] button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login" not in url)

    return login



@pytest.fixture
def people(make_contributor, org, other_org):
    """Staff around a contest: the organisation's manager, another organisation's, and trust-and-safety."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from organizations.access import PLATFORM_ROLE_GROUP_NAMES, PlatformRole
    from organizations.models import Membership
    from review.roles import sync_role_groups

    sync_role_groups()
    manager, outsider = make_contributor("pm@lab-a.example"), make_contributor("pm@lab-b.example")
    for user, organization in ((manager, org), (outsider, other_org)):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        Membership.objects.create(organization=organization, user=user, role=Membership.Role.MANAGER)
    safety = get_user_model().objects.create_user(username="ts", email="ts@example.com", password="x", is_staff=True)
    safety.groups.add(Group.objects.get(name=PLATFORM_ROLE_GROUP_NAMES[PlatformRole.TRUST_SAFETY]))
    return {"manager": manager, "outsider": outsider, "safety": safety}
