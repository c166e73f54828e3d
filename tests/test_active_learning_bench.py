"""Smoke-size run of bench/active_learning.py: the simulation runs end to end against the real backend process
and prints its figures for every ordering."""
import json
import subprocess
import sys

from tests.helpers import ROOT


def test_active_learning_bench_smoke():
    out = subprocess.run([sys.executable, "bench/active_learning.py", "--smoke"], cwd=ROOT, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "data: vi-moderation-synth" in out.stdout and "answers needed to reach" in out.stdout
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["data"] == "vi-moderation-synth" and result["seeds"] == 2
    orderings = result["orderings"]
    assert set(orderings) == {"random", "least_confident", "margin", "entropy"}
    for summary in orderings.values():
        assert len(summary["answers_to_target"]) == 2
        low, high = summary["ci95"]
        assert low <= summary["mean"] <= high
        assert all(0 < acc[0] <= 1 for acc in summary["accuracy_at"].values())
