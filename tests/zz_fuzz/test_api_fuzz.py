"""Schemathesis against /api/schema/ on a live gunicorn: no 500 and no response outside the schema.

Bounded for CI (a fixed seed, few examples per operation, a time budget). Contributor-only
operations that need a lease (next/submit/skip/report) and the binary download are fuzzed by
their own tests instead.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from organizations.models import ApiToken
from tests.helpers import database_url, gunicorn

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(settings.CELERY_TASK_ALWAYS_EAGER, reason="needs a broker: eager mode runs exports in requests"),
]


def test_schemathesis_finds_no_server_error_and_no_schema_violation(make_campaign, api_token, artifacts_dir):
    make_campaign()
    key = api_token(scopes=[ApiToken.Scope.READ_DATASETS, ApiToken.Scope.MANAGE_CAMPAIGNS])
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    # With the suite's broker, exports and webhooks are queued as in production (not run inside requests).
    with gunicorn({"DATABASE_URL": database_url(connection.settings_dict), "API_TOKEN_RATE": "100000/min"},
                  workers=2, log_name="gunicorn-fuzz.log") as port:
        out = subprocess.run(
            [cli, "run", f"http://127.0.0.1:{port}/api/schema/", "-H", f"Authorization: Token {key}",
             "-c", "not_a_server_error,response_schema_conformance", "-n", "5", "--seed", "7",
             "--generation-deterministic", "--max-time", "150", "-w", "2", "--phases", "coverage,fuzzing",
             "--exclude-path-regex", "download|/next/|/submit/|/skip/|/report/",
             "--report", "junit", "--report-dir", str(artifacts_dir / "schemathesis")],
            cwd=ROOT, capture_output=True, text=True, timeout=420,
        )
    (artifacts_dir / "schemathesis.log").write_text(out.stdout + out.stderr)
    assert out.returncode == 0, out.stdout[-6000:]
