"""Smoke-size run of bench/ledger.py on the test database, in a separate process."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.test_console_bench import database_url

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the ledger benchmark seeds with PostgreSQL SQL"),
]


def test_ledger_bench_smoke():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    proc = subprocess.run(
        [sys.executable, "bench/ledger.py", "--smoke", "--no-migrate", "--database-url", database_url()],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["total_entries"] >= 2000
    assert result["breaches"] == []
    assert result["balance_cached_ms"] < 10
