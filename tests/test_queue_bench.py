"""Smoke-size run of bench/assignment.py: real gunicorn, real HTTP, the test database; zero violations."""
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
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the queue benchmark runs against PostgreSQL"),
]


def database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s.get('USER') or 'postgres'}{password}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def test_assignment_bench_smoke():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    proc = subprocess.run(
        [sys.executable, "bench/assignment.py", "--smoke", "--no-migrate", "--database-url", database_url(),
         "--redis-url", ""],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [level["clients"] for level in result["levels"]] == [1, 4]
    for level in result["levels"]:
        assert level["cycles"] > 0 and level["cycles_per_s"] > 0, level
        assert not {k for k in level["errors"] if not k.endswith(":empty")}, level["errors"]
    cycles = result["warmup_cycles"] + sum(level["cycles"] for level in result["levels"])
    assert result["verification"]["annotations"] == cycles
    violations = {k: v for k, v in result["verification"].items() if k != "annotations"}
    assert violations == dict.fromkeys(violations, 0)
