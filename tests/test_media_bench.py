"""Smoke-size run of bench/media.py (decode-validation cost per upload, refusal of over-long files, signed URLs)."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_media_bench_smoke():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    proc = subprocess.run([sys.executable, "bench/media.py", "--smoke"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["smoke"] is True
    assert result["recording"]["realtime_factor"] > 1  # validating a take is faster than recording it
    # The over-long upload is refused after decoding ~30 s, whatever its length: bounded memory.
    assert result["overlong"]["peak_mb"] < 30
    assert result["image"]["median_ms"] > 0 and result["signed_urls"]["check_per_s"] > 100
