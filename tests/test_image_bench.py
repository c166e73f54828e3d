"""Smoke-size run of bench/image_coco_export.py: the COCO writer streams, loads in pycocotools, stays small."""
from bench.image_coco_export import main


def test_coco_export_benchmark_smoke():
    result = main(["--images", "300", "--check"])
    assert result["objects"] == 3000 and result["loaded_annotations"] == 3000
    assert result["peak_rss_mb"] < 500
