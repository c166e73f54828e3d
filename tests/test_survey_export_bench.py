"""Smoke-size run of bench/survey_export.py: fill, export CSV and Parquet with photos, figures printed."""
import pytest

from bench.survey_export import run


@pytest.mark.django_db
def test_survey_export_benchmark_smoke(tmp_path, settings):
    result = run(60, tmp_path)
    by_format = {r["format"]: r for r in result["results"]}
    assert set(by_format) == {"csv", "parquet"}
    for r in by_format.values():
        # 5 base + 11 visit + 10 int + 10 decimal + 10 select_one + 5x4 select_multiple + 5 text + 3 photo columns
        assert r["submissions"] == 60 and r["photos"] == 180 and r["columns"] == 74 and r["seconds"] > 0
