"""Schemathesis against /api/schema/ on a live gunicorn, once per principal (issue 18).

Every organisation role by browser session (session cookie plus the CSRF pair) and a token with each
scope: no 500, no response outside the schema, and no answer against the permission model
(``tests/zz_fuzz/authorization_check.py``: a 2xx only where ``organizations.access`` allows the
principal's action, never 401/403 where it does).

Bounded for CI (a fixed seed, deterministic generation, few examples per operation, a time budget per
principal). Contributor-only operations that need a lease (next/submit/skip/report) and the binary download
are fuzzed by their own tests instead. Each run's log and JUnit report land in test-artifacts/;
``FUZZ_PRINCIPALS=session-reviewer,token-datasets-read`` re-runs only those.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from importlib import import_module
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import IsAuthenticated

from organizations.access import Action, role_allows, token_allows
from organizations.models import ApiToken, Membership
from organizations.permissions import HasOrganization, IsOrganizationAdmin, required_action
from organizations.services import create_api_token
from review.roles import sync_role_groups
from tests.helpers import database_url, gunicorn
from web.campaigns.api import IsPersonUser

ROOT = Path(__file__).resolve().parents[2]
HOOKS = Path(__file__).resolve().parent / "authorization_check.py"
METHODS = ("get", "post", "put", "patch", "delete")
EXCLUDED = "download|/next/|/submit/|/skip/|/report/"
# Each run's time budget (coverage then fuzzing stop when it is spent), two runs at a time: six principals
# in three rounds, the whole file in about 3 minutes on two cores.
MAX_TIME = 40
PARALLEL = 2
# POSTs that change nothing, open to any signed-in principal: (route, method) and why.
READ_ONLY_POSTS = {("api/v1/authenticity/text-check/", "post"): "scores a text, stores nothing"}

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(settings.CELERY_TASK_ALWAYS_EAGER, reason="needs a broker: eager mode runs exports in requests"),
]


def api_routes():
    """(route, view class) for every routed DRF view of the API and the assets endpoints."""
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p.callback
    for route, callback in walk(get_resolver().url_patterns):
        cls = getattr(callback, "cls", None)
        if cls is not None and route.startswith(("api/v1/", "assets/")):
            yield route, cls


def authorization_table(principal: str, *, role: str | None = None, token: ApiToken | None = None) -> dict:
    """What organizations.access says of every operation for this principal (the check's table)."""
    def allowed(action: Action) -> bool:
        return token_allows(token, action) if token is not None else role_allows(role, action)

    operations = {}
    for route, cls in api_routes():
        template = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        guards = set(cls.permission_classes)
        for method in METHODS:
            if not hasattr(cls, method):
                continue
            if IsOrganizationAdmin in guards:
                rule = {"allowed": allowed(Action.TOKENS), "action": str(Action.TOKENS)}
            elif HasOrganization in guards:
                action = required_action(cls(), SimpleNamespace(method=method.upper()))
                rule = {"allowed": action is not None and allowed(action), "action": str(action)}
            elif IsPersonUser in guards:  # the signed-in person's own account: never an organisation token
                rule = {"allowed": token is None, "action": "the person's own account"}
            elif guards == {IsAuthenticated} and (method == "get" or (route, method) in READ_ONLY_POSTS):
                rule = {"allowed": True, "action": "any signed-in principal (reads)"}
            else:
                continue  # no rule: the check fails on it
            operations[f"{method.upper()} {template}"] = rule
    return {"principal": principal, "operations": operations}


def session_for(user) -> str:
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "core.auth_backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


@pytest.fixture
def principals(org, make_campaign, make_contributor):
    """name -> (headers, authorization table): a token with each scope, then each organisation role by session.

    Ordered so that no run removes another's credentials: the admin's session may revoke tokens (it is
    allowed to, and the fuzzer finds their ids), so tokens go first and the writing roles last."""
    sync_role_groups()
    make_campaign()
    out = {}
    for scope in ApiToken.Scope:
        token, key = create_api_token(organization=org, name=f"fuzz {scope}", scopes=[scope])
        out[f"token-{scope.replace(':', '-')}"] = ([f"Authorization: Token {key}"],
                                                   authorization_table(f"token {scope}", token=token))
    roles = (Membership.Role.REVIEWER, Membership.Role.SUPPORT, Membership.Role.MANAGER, Membership.Role.ADMIN)
    assert set(roles) == set(Membership.Role), "a new role: add it to the fuzzed principals"
    for role in roles:
        user = make_contributor(f"{role}@lab-a.example")
        Membership.objects.create(organization=org, user=user, role=role)
        csrf = "fz" * 16
        headers = [f"Cookie: sessionid={session_for(user)}; csrftoken={csrf}", f"X-CSRFToken: {csrf}"]
        out[f"session-{role}"] = (headers, authorization_table(f"{role} (session)", role=role))
    return out


def test_schemathesis_per_principal_finds_no_server_error_schema_violation_or_authorization_failure(
        principals, artifacts_dir):
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    reports = artifacts_dir / "schemathesis"
    reports.mkdir(parents=True, exist_ok=True)
    failures, timings = [], {}
    # With the suite's broker, exports and webhooks are queued as in production (not run inside requests).
    with gunicorn({"DATABASE_URL": database_url(connection.settings_dict), "API_TOKEN_RATE": "100000/min"},
                  workers=2, log_name="gunicorn-fuzz.log") as port:
        def start(name, headers, table):
            rules = reports / f"authz-{name}.json"
            rules.write_text(json.dumps(table, indent=1))
            log = open(artifacts_dir / f"schemathesis-{name}.log", "w")  # noqa: SIM115 - closed below
            proc = subprocess.Popen(
                [cli, "run", f"http://127.0.0.1:{port}/api/schema/", *[arg for h in headers for arg in ("-H", h)],
                 "-c", "not_a_server_error,response_schema_conformance,follows_the_permission_model",
                 "-n", "3", "--seed", "7", "--generation-deterministic", "--max-time", str(MAX_TIME), "-w", "1",
                 "--phases", "coverage,fuzzing", "--exclude-path-regex", EXCLUDED, "--no-shrink",
                 "--report", "junit", "--report-junit-path", str(reports / f"junit-{name}.xml")],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "AUTHZ_RULES": str(rules)},
            )
            return name, proc, log, time.monotonic()

        only = [name for name in os.environ.get("FUZZ_PRINCIPALS", "").split(",") if name]  # a local re-run
        pending = [(name, spec) for name, spec in principals.items() if not only or name in only]
        while pending:  # two principals at a time: one per core
            running = [start(name, *spec) for name, spec in pending[:PARALLEL]]
            pending = pending[PARALLEL:]
            for name, proc, log, started in running:
                try:
                    code = proc.wait(timeout=MAX_TIME + 90)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    code = proc.wait()
                log.close()
                timings[name] = round(time.monotonic() - started, 1)
                if code != 0:
                    text = (artifacts_dir / f"schemathesis-{name}.log").read_text()
                    failures.append(f"--- {name} (exit {code}) ---\n{text[-5000:]}")
    (artifacts_dir / "schemathesis-timings.json").write_text(json.dumps(timings, indent=1))
    assert not failures, "\n".join(failures)
