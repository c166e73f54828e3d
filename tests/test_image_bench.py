"""Smoke-size runs of the image benches: the COCO writer (streams, loads in pycocotools, stays small) and the
page drag in Chromium."""


def test_coco_export_benchmark_smoke():
    """In its own process, read from VmHWM: the peak memory is the bench's, not the test session's (which holds
    the whole suite's imports and was past 600 MB by the time this ran in CI; ru_maxrss survives execve)."""
    import json
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "bench/image_coco_export.py", "--images", "300", "--check"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["objects"] == 3000 and result["loaded_annotations"] == 3000
    assert result["peak_rss_mb"] < 500


def test_page_drag_benchmark_smoke():
    """The drag benchmark runs in Chromium and really moves the box (frame rate is not asserted here:
    CI machines are shared; the full-size figure is in docs/image-annotation.md). In its own process:
    Playwright's sync API refuses to run inside pytest-playwright's event loop."""
    import json
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "bench/image_page_drag.py", "--objects", "60", "--steps", "20",
                          "--width", "1920", "--height", "1080"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["frames"] > 5 and result["fps"] > 0
    assert result["moved_to"][0] > 400  # the box followed the mouse


def test_page_pan_over_deep_zoom_tiles_smoke():
    """A 12.6-megapixel image is served as the deep-zoom pyramid: panning draws, and only the tiles in view
    (plus the one-tile top level) are fetched, not the whole pyramid."""
    import json
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "bench/image_page_drag.py", "--objects", "20", "--steps", "20",
                          "--width", "4200", "--height", "3000", "--gesture", "pan"],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["frames"] > 5 and result["fps"] > 0
    assert result["tiles"] == 9 * 6 + 5 * 3 + 3 * 2 + 2 * 1 + 1  # levels 4200x3000 down to 263x188
    assert 1 <= result["tiles_loaded"] < result["tiles"] / 2
