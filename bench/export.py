"""Export benchmark: 1,000,000 annotations from PostgreSQL through the real export engine.

    .venv/bin/python bench/export.py                    # 1,000,000 annotations (333,334 RLHF items x 3)
    .venv/bin/python bench/export.py --annotations 3000 # smoke size (the test suite runs this)

Creates (or reuses) the database given by --database-url (default ``annotate_bench_f``), migrates it,
fills one RLHF pairwise campaign with 2,000 contributors, items, assignments, annotations (with
telemetry) and finalised consensus using ``INSERT ... SELECT generate_series`` in PostgreSQL (seconds,
not minutes), then runs ``exports.services.run_export`` — the function the export worker runs — once
per (layout, format) for raw and dpo x jsonl and parquet, each in a fresh process so its peak RSS
(``ru_maxrss``) is that export's alone. Prints rows, seconds, rows/s, peak RSS and archive size; the
last line is the result as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

try:  # run as a script: bench/ is sys.path[0]
    from _setup import django_setup, ensure_database
except ModuleNotFoundError:  # imported by the tests as bench.<name>
    from bench._setup import django_setup, ensure_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/annotate_bench_f"
CONTRIBUTORS = 2000
OVERLAP = 3


def _defaults(model, set_columns: set[str]) -> tuple[list[str], list]:
    """Columns not set by the bench and their model defaults, as SQL parameters (new fields keep working)."""
    from django.db import connection

    cols, params = [], []
    for field in model._meta.concrete_fields:
        if field.column in set_columns or field.primary_key:
            continue
        cols.append(field.column)
        params.append(field.get_db_prep_save(field.get_default(), connection))
    return cols, params


def insert_select(model, values: dict[str, str], source: str, params: list | None = None) -> None:
    """``INSERT INTO <model> (...) SELECT <values>, <defaults> FROM <source>`` in one statement."""
    from django.db import connection

    extra_cols, extra_params = _defaults(model, set(values))
    cols = [*values, *extra_cols]
    select = [*(v.replace("%", "%%") for v in values.values()), *["%s"] * len(extra_cols)]
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(cols)}) SELECT {', '.join(select)} FROM {source}"
    with connection.cursor() as cur:
        cur.execute(sql, [*extra_params, *(params or [])])


def fill(n_annotations: int) -> int:
    """Seed the campaign unless it is already there at this size; returns the campaign id."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotations.models import Annotation, Consensus
    from contributors.models import ContributorProfile
    from organizations.models import Organization
    from tasks.models import Assignment, Campaign, Item
    from tasks.services import create_campaign

    name = f"bench-export-{n_annotations}"
    existing = Campaign.objects.filter(name=name).first()
    if existing and Annotation.objects.filter(campaign=existing).count() == n_annotations:
        return existing.pk
    n_items = -(-n_annotations // OVERLAP)
    started = time.perf_counter()
    with transaction.atomic():
        org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
        if existing:
            existing.delete()
        campaign = create_campaign(organization=org, name=name, task_type="rlhf", overlap=OVERLAP,
                                   config={"mode": "pairwise"})
        User = get_user_model()
        users = list(User.objects.filter(username__startswith="bench-c-").order_by("id"))
        if len(users) < CONTRIBUTORS:
            User.objects.bulk_create([User(username=f"bench-c-{i}", email=f"bench-c-{i}@example.com")
                                      for i in range(len(users), CONTRIBUTORS)])
            users = list(User.objects.filter(username__startswith="bench-c-").order_by("id"))
            regions = ["north", "central", "south"]
            ContributorProfile.objects.bulk_create(
                [ContributorProfile(user=u, display_name=f"Người {i}", birth_year=1970 + i % 35,
                                    region=regions[i % 3], province="Hà Nội", pseudonym=f"c_bench{i:011d}")
                 for i, u in enumerate(users) if not hasattr(u, "contributor")],
                ignore_conflicts=True,
            )
        first_user = users[0].pk
        cid = campaign.pk
        insert_select(Item, {
            "campaign_id": str(cid), "external_id": "'q' || g",
            "payload": "jsonb_build_object('prompt', 'Câu hỏi số ' || g || ': giải thích vì sao trời mưa?', "
                       "'responses', jsonb_build_array(jsonb_build_object('text', 'Trả lời chi tiết A cho câu ' || g "
                       "|| ', có dẫn chứng khoa học về hơi nước và mây.', 'model', 'm1'), "
                       "jsonb_build_object('text', 'Trả lời B ' || g, 'model', 'm2')))",
            "target_overlap": str(OVERLAP), "done_count": str(OVERLAP), "open_slots": "0", "created_at": "now()",
        }, f"generate_series(1, {n_items}) g")
        with connection.cursor() as cur:
            cur.execute("SELECT min(id) FROM tasks_item WHERE campaign_id = %s", [cid])
            first_item = cur.fetchone()[0]
        # Annotation k (1-based) belongs to item (k-1)//3; its contributor differs within an item.
        insert_select(Assignment, {
            "item_id": f"{first_item} + (g - 1) / {OVERLAP}", "campaign_id": str(cid),
            "contributor_id": f"{first_user} + ((g - 1) / {OVERLAP} * {OVERLAP} + (g - 1) % {OVERLAP}) % {CONTRIBUTORS}",
            "state": "'submitted'", "leased_at": "now()", "expires_at": "now()", "finished_at": "now()",
        }, f"generate_series(1, {n_annotations}) g")
        insert_select(Annotation, {
            "assignment_id": "a.id", "item_id": "a.item_id", "campaign_id": "a.campaign_id",
            "contributor_id": "a.contributor_id",
            "payload": "jsonb_build_object('choice', CASE WHEN a.id % 5 = 0 THEN 'B' ELSE 'A' END, 'strength', "
                       "1 + a.id % 3, 'order', jsonb_build_array(0, 1))",
            "time_spent_ms": "2000 + a.id % 5000",
            "telemetry": "jsonb_build_object('schema', 1, 'active_ms', 1800 + a.id % 4000, 'keystrokes', a.id % 90,"
                         " 'deletions', a.id % 7, 'focus_losses', a.id % 2, 'pastes', jsonb_build_array())",
            "created_at": "now() - (a.id % 86400) * interval '1 second'",
        }, "tasks_assignment a WHERE a.campaign_id = %s", [cid])
        insert_select(Consensus, {
            "item_id": "i.id", "campaign_id": "i.campaign_id", "state": "'finalised'",
            "result": "jsonb_build_object('chosen', 0, 'rejected', 1, 'margin', 0.6, 'ranking', "
                      "jsonb_build_array(0, 1), 'scores', jsonb_build_array(0.8, -0.8), 'choice', 0)",
            "confidence": "0.67", "agreement": "0.67 + (i.id % 3) * 0.1", "method": "'pairwise_vote+bradley_terry'",
            "n_answers": str(OVERLAP), "updated_at": "now()",
        }, "tasks_item i WHERE i.campaign_id = %s", [cid])
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    print(f"seeded {n_items} items, {n_annotations} annotations in {time.perf_counter() - started:.1f} s",
          flush=True)
    return cid


def run_one(campaign_id: int, layout: str, fmt: str) -> dict:
    """In a fresh process: request + build one export, measure time and peak RSS."""
    from exports.models import Export
    from exports.services import run_export
    from tasks.models import Campaign

    campaign = Campaign.objects.get(pk=campaign_id)
    export = Export.objects.create(organization=campaign.organization, campaign=campaign, format=fmt, layout=layout,
                                   filters={"finalised_only": False}, split={"ratios": {"train": 0.9, "test": 0.1},
                                                                             "by": "item", "seed": 1})
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu_before = time.perf_counter(), time.process_time()
    export = run_export(export.pk)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if export.status != "succeeded":
        raise SystemExit(f"export failed: {export.error}")
    return {"layout": layout, "format": fmt, "rows": export.rows_written, "seconds": round(seconds, 2),
            "rows_per_s": round(export.rows_written / seconds), "peak_rss_mb": round(peak_mb, 1),
            "rss_before_mb": round(rss_before / 1024, 1), "peak_rss_rows_mb": export.stats["peak_rss_mb_rows"],
            "archive_mb": round(export.size_bytes / 2**20, 1), "cpu_s": round(time.process_time() - cpu_before, 2),
            "export_id": export.pk}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--annotations", type=int, default=1_000_000)
    parser.add_argument("--layouts", default="raw,dpo")
    parser.add_argument("--formats", default="jsonl,parquet")
    parser.add_argument("--export-root", default=str(ROOT / "bench" / "results" / "exports"))
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database first")
    parser.add_argument("--in-process", action="store_true",
                        help="run every export in this process (smoke runs: faster, RSS figures cumulative)")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # internal: campaign_id,layout,format
    args = parser.parse_args()
    if args.run:
        django_setup(args.database_url, EXPORT_ROOT=args.export_root, CELERY_TASK_ALWAYS_EAGER="1")
        campaign_id, layout, fmt = args.run.split(",")
        print(json.dumps(run_one(int(campaign_id), layout, fmt)))
        return
    if not args.database_url.startswith("postgres"):
        raise SystemExit("the export benchmark needs PostgreSQL (server-side cursors, generate_series)")
    ensure_database(args.database_url, fresh=args.fresh)
    django_setup(args.database_url, EXPORT_ROOT=args.export_root, CELERY_TASK_ALWAYS_EAGER="1")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    campaign_id = fill(args.annotations)
    results = []
    print(f"{'layout':8} {'format':8} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'CPU s':>7} "
          f"{'RSS rows MB':>12} {'RSS end MB':>11} {'archive MB':>11}")
    for layout in args.layouts.split(","):
        for fmt in args.formats.split(","):
            if args.in_process:
                result = run_one(campaign_id, layout, fmt)
                results.append(result)
                print(f"{layout:8} {fmt:8} {result['rows']:>9} {result['seconds']:>8} {result['rows_per_s']:>9}")
                continue
            out = subprocess.run(
                [sys.executable, __file__, "--database-url", args.database_url, "--export-root", args.export_root,
                 "--run", f"{campaign_id},{layout},{fmt}"],
                capture_output=True, text=True, cwd=ROOT,
            )
            if out.returncode:
                sys.stderr.write(out.stdout + out.stderr)
                raise SystemExit(out.returncode)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(result)
            print(f"{layout:8} {fmt:8} {result['rows']:>9} {result['seconds']:>8} {result['rows_per_s']:>9} "
                  f"{result['cpu_s']:>7} {result['peak_rss_rows_mb']:>12} {result['peak_rss_mb']:>11} "
                  f"{result['archive_mb']:>11}", flush=True)
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")
    print(json.dumps({"annotations": args.annotations, "results": results, "loadavg": load}))


if __name__ == "__main__":
    main()
