"""Smoke-size run of bench/export.py: the benchmark runs end to end and prints its figures."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

# The bench writes into the (migrated) test database itself; a transactional test flushes it afterwards.
pytestmark = pytest.mark.django_db(transaction=True)


def test_export_benchmark_smoke(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("bench/export.py measures PostgreSQL (server-side cursors); the suite runs on SQLite here")
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    url = (f"postgres://{settings.get('USER') or 'postgres'}{password}@{settings.get('HOST') or '127.0.0.1'}:"
           f"{settings.get('PORT') or 5432}/{settings['NAME']}")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    out = subprocess.run(
        [sys.executable, "bench/export.py", "--database-url", url, "--annotations", "600", "--in-process",
         "--export-root", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    by_run = {(r["layout"], r["format"]): r for r in result["results"]}
    assert set(by_run) == {("raw", "jsonl"), ("raw", "parquet"), ("dpo", "jsonl"), ("dpo", "parquet")}
    assert by_run[("raw", "jsonl")]["rows"] == 600 and by_run[("dpo", "parquet")]["rows"] == 200
    assert all(r["rows_per_s"] > 0 and r["peak_rss_mb"] > 0 for r in result["results"])
