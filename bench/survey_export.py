"""Survey export benchmark: N field-visit submissions x 40 questions x 3 photos -> the wide export zip.

    .venv/bin/python bench/survey_export.py                      # 10,000 submissions (target: < 60 s)
    .venv/bin/python bench/survey_export.py --submissions 200    # smoke size (the test suite runs run())

Creates (or reuses) the PostgreSQL database given by --database-url (default ``annotate_bench_survey``),
migrates it, fills one field_visit campaign whose form has 40 questions (10 integer, 10 decimal,
10 select_one, 5 select_multiple of 4 choices, 5 text: 60 columns once select_multiple is spread into
0/1 columns) with N items, assignments and answers carrying 3 stored photos each (small JPEGs written
to a temporary media root), then times ``task_types.survey.export.export_campaign`` (the function the
download runs) for CSV and Parquet, photos included. Prints seconds, rows/s and archive size; the last
line is the result as JSON.
"""
from __future__ import annotations

import argparse
import io
import json
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

try:  # run as a script: bench/ is sys.path[0]
    from _setup import django_setup, ensure_database
except ModuleNotFoundError:  # imported by the tests as bench.<name>
    from bench._setup import django_setup, ensure_database

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/annotate_bench_survey"
PHOTOS = 3


def bench_form() -> dict:
    choices = [{"name": f"c{i}", "label": {"vi": f"Lựa chọn {i}", "en": f"Choice {i}"}} for i in range(4)]
    questions = []
    for i in range(10):
        questions.append({"name": f"count_{i}", "type": "integer", "label": {"vi": f"Số {i}", "en": f"Count {i}"},
                          "constraint": ". >= 0"})
        questions.append({"name": f"price_{i}", "type": "decimal", "label": {"vi": f"Giá {i}", "en": f"Price {i}"}})
        questions.append({"name": f"grade_{i}", "type": "select_one", "label": {"vi": f"Mức {i}", "en": f"Grade {i}"},
                          "choices": choices})
    for i in range(5):
        questions.append({"name": f"seen_{i}", "type": "select_multiple", "label": {"vi": f"Thấy {i}", "en": f"Seen {i}"},
                          "choices": choices})
        questions.append({"name": f"note_{i}", "type": "text", "label": {"vi": f"Ghi chú {i}", "en": f"Note {i}"}})
    return {"questions": questions, "languages": ["vi", "en"]}


def tiny_jpeg(seed: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (seed % 255, (seed * 7) % 255, 90)).save(out, format="JPEG", quality=70)
    return out.getvalue()


def fill(n: int, media_root: Path):
    """One campaign with ``n`` answered visits; returns it."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from annotations.models import Annotation
    from assets.models import MediaAsset
    from organizations.models import Organization
    from tasks.models import Assignment, Campaign, Item
    from tasks.services import create_campaign, new_item

    rng = random.Random(7)
    org = Organization.objects.create(name=f"Bench survey {time.time_ns()}")
    campaign = create_campaign(organization=org, name="bench survey", task_type="field_visit", overlap=1,
                               config={"form": bench_form(), "max_photos": PHOTOS, "min_photos": 0})
    campaign.status = Campaign.Status.ACTIVE
    campaign.save(update_fields=["status"])
    user = get_user_model().objects.create_user(username=f"bench-{time.time_ns()}", password="x")
    now = timezone.now()
    window = {"start": (now - timedelta(hours=1)).isoformat(), "end": (now + timedelta(hours=8)).isoformat()}
    form = campaign.config["form"]
    photo_bytes = [tiny_jpeg(i) for i in range(16)]
    batch = 2000
    for start in range(0, n, batch):
        size = min(batch, n - start)
        items = Item.objects.bulk_create(new_item(campaign, payload={
            "place": {"name": f"Cửa hàng {start + i}", "lat": 10.7 + (start + i) * 1e-5, "lon": 106.7}, "window": window})
            for i in range(size))
        assignments = Assignment.objects.bulk_create(
            Assignment(item=item, campaign=campaign, contributor_id=user.pk, state=Assignment.State.SUBMITTED,
                       leased_at=now, expires_at=now, finished_at=now) for item in items)
        annotations, assets = [], []
        for item, assignment in zip(items, assignments, strict=True):
            answers = {}
            for q in form["questions"]:
                t = q["type"]
                answers[q["name"]] = (rng.randint(0, 200) if t == "integer" else round(rng.uniform(1, 9e5), 1)
                                      if t == "decimal" else f"c{rng.randint(0, 3)}" if t == "select_one"
                                      else [f"c{k}" for k in range(4) if rng.random() < 0.5] if t == "select_multiple"
                                      else f"Ghi chú ngắn số {item.pk}")
            keys = []
            for p in range(PHOTOS):
                key = f"campaigns/{campaign.pk}/bench/{item.pk}-{p}.jpg"
                path = media_root / key
                path.parent.mkdir(parents=True, exist_ok=True)
                data = photo_bytes[(item.pk + p) % len(photo_bytes)]
                path.write_bytes(data)
                keys.append(key)
                assets.append(MediaAsset(key=key, kind="image", content_type="image/jpeg", size_bytes=len(data),
                                         sha256=f"{item.pk:056d}{p:08d}", campaign=campaign, info={}))
            annotations.append(Annotation(
                assignment=assignment, item=item, campaign=campaign, contributor_id=user.pk, payload={
                    "answers": answers, "photos": keys, "flags": [],
                    "checkin": {"lat": item.payload["place"]["lat"], "lon": 106.7, "accuracy": 10.0,
                                "at": now.isoformat(), "distance_m": 3.0, "outside": False}}))
        Annotation.objects.bulk_create(annotations)
        MediaAsset.objects.bulk_create(assets)
    return campaign


def run(n: int, export_root: Path) -> dict:
    """Fill and export (CSV then Parquet); the figures as a dict."""
    from django.conf import settings

    from task_types.survey.export import export_campaign

    settings.MEDIA_ROOT = export_root / "media"
    started = time.perf_counter()
    campaign = fill(n, Path(settings.MEDIA_ROOT))
    fill_s = time.perf_counter() - started
    results = []
    for fmt in ("csv", "parquet"):
        out = export_root / f"survey-{fmt}.zip"
        t0 = time.perf_counter()
        counts = export_campaign(campaign, out, fmt=fmt)
        seconds = time.perf_counter() - t0
        results.append({"format": fmt, "submissions": counts["submissions"], "columns": counts["columns"],
                        "photos": counts["photos"], "seconds": round(seconds, 2),
                        "rows_per_s": round(counts["submissions"] / seconds, 1),
                        "archive_mb": round(out.stat().st_size / 2**20, 2)})
    return {"submissions": n, "questions": len(bench_form()["questions"]), "photos_each": PHOTOS,
            "fill_seconds": round(fill_s, 1), "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--database-url", default=DEFAULT_DB)
    args = parser.parse_args()
    ensure_database(args.database_url, fresh=True)
    django_setup(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.submissions, Path(tmp))
    for r in result["results"]:
        print(f"{r['format']:8s} {r['submissions']:>7d} submissions x {r['columns']} columns, {r['photos']} photos: "
              f"{r['seconds']:.2f} s ({r['rows_per_s']:.0f}/s), {r['archive_mb']} MB")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
