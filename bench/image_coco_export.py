"""COCO export benchmark: 100,000 images / 1,000,000 objects through the image type's COCO writer.

    .venv/bin/python bench/image_coco_export.py                   # 100,000 images x 10 objects
    .venv/bin/python bench/image_coco_export.py --images 500      # smoke size (the test suite runs this)

Each image (1920x1080) holds 6 boxes, 3 polygons of 8-12 points and 1 person with 17 keypoints, made
by a seeded generator as the consensus rows would arrive (``DatasetImage``); the writer
(``task_types.image.formats.write_coco``) streams them to one annotations.json, spilling annotations to a
temporary file so memory stays flat. What is timed: building every COCO annotation (polygon areas by
pycocotools, as COCO defines them) and writing the file; not reading rows from PostgreSQL (bench/export.py
measures that path for the platform's exports). Prints seconds, objects/s, peak RSS and file size; the
last line is the result as JSON. ``--check`` loads the file with pycocotools afterwards (smoke sizes).
"""
from __future__ import annotations

import argparse
import json
import math
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from task_types.image.formats import DatasetImage, write_coco  # noqa: E402 - after the path set-up

LABELS = ["car", "person", "bicycle", "traffic_light", "sign"]
W, H = 1920, 1080


def images(n: int, seed: int = 0):
    rng = random.Random(seed)
    for i in range(n):
        objects = []
        for _ in range(6):
            w, h = rng.uniform(10, 400), rng.uniform(10, 300)
            x, y = rng.uniform(0, W - w), rng.uniform(0, H - h)
            objects.append({"type": "box", "label": rng.choice(LABELS), "bbox": [round(x, 2), round(y, 2),
                                                                                 round(w, 2), round(h, 2)]})
        for _ in range(3):
            cx, cy, r = rng.uniform(200, W - 200), rng.uniform(200, H - 200), rng.uniform(20, 180)
            k = rng.randint(8, 12)
            objects.append({"type": "polygon", "label": rng.choice(LABELS), "points": [
                [round(cx + r * math.cos(2 * math.pi * j / k), 2), round(cy + r * math.sin(2 * math.pi * j / k), 2)]
                for j in range(k)]})
        px, py = rng.uniform(100, W - 100), rng.uniform(200, H - 300)
        objects.append({"type": "keypoints", "label": "person", "keypoints": [
            [round(px + rng.uniform(-60, 60), 2), round(py + j * 15, 2), 2] for j in range(17)]})
        yield DatasetImage(f"{i:07d}.jpg", W, H, objects, image_id=i + 1)


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM belongs to the process image, whereas getrusage's
    ru_maxrss survives execve: a bench started by a large process (the test session) would report its parent's
    peak. ru_maxrss only where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--check", action="store_true", help="load the file with pycocotools afterwards")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "annotations.json"
        start = time.perf_counter()
        counts = write_coco(images(args.images), LABELS, out)
        seconds = time.perf_counter() - start
        rss_mb = peak_rss_mb()
        size_mb = out.stat().st_size / 1e6
        result = {"images": counts["images"], "objects": counts["annotations"], "seconds": round(seconds, 2),
                  "objects_per_s": round(counts["annotations"] / seconds), "peak_rss_mb": round(rss_mb, 1),
                  "file_mb": round(size_mb, 1)}
        if args.check:
            from pycocotools.coco import COCO

            coco = COCO(str(out))
            result["loaded_annotations"] = len(coco.getAnnIds())
    print(f"{result['images']:,} images, {result['objects']:,} objects in {result['seconds']} s "
          f"({result['objects_per_s']:,}/s), peak RSS {result['peak_rss_mb']} MB, file {result['file_mb']} MB")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
