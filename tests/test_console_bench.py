"""Smoke-size run of bench/console.py: the console pages on the test database, in a separate process."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the console benchmark runs against PostgreSQL"),
]


def database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return (f"postgres://{s.get('USER') or 'postgres'}{password}@{s.get('HOST') or '127.0.0.1'}:"
            f"{s.get('PORT') or 5432}/{s['NAME']}")


def test_console_bench_smoke():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    proc = subprocess.run(
        [sys.executable, "bench/console.py", "--smoke", "--no-migrate", "--database-url", database_url()],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["annotations"] == 500
    for label, page in result["pages"].items():
        assert page["status"] in (200, 302), (label, page)  # "page 500" of a 5-page smoke list redirects
        if "list" in label or "queue" in label:
            assert page["queries"] <= 12, (label, page)
    assert result["count"]["exact"] == 500 == result["count"]["estimate"]
    # The dashboard reads its stored summary (a handful of queries, whatever the campaign's size); the dataset
    # view's pages (filters, search) answer.
    assert result["pages"]["dashboard page (stored summary)"]["queries"] <= 12
    assert result["pages"]["dashboard JSON poll (stored summary)"]["queries"] <= 8
    assert [label for label in result["pages"] if label.startswith("dataset")] and all(
        page["status"] == 200 for label, page in result["pages"].items() if label.startswith("dataset"))
    assert set(result["refresh_ms"]) == {"dashboard figures refresh (job)", "authenticity panel refresh (job)"}
