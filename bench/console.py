"""Console benchmark: the managers' admin pages at a million annotations on PostgreSQL.

    .venv/bin/python bench/console.py                        # 1,000,000 annotations (200,000 items x 5)
    .venv/bin/python bench/console.py --annotations 200000
    .venv/bin/python bench/console.py --smoke                # tiny sizes (the test suite runs this)
    .venv/bin/python bench/console.py --annotations 300000 --per-item 3   # issue 20's size: 100,000 items

Creates (or reuses) the database given by --database-url (default ``annotate_bench_g``), migrates it,
fills one campaign of an organisation with items, assignments, annotations and consensus rows by
``INSERT ... SELECT generate_series`` (seconds, not minutes), ANALYZEs, then requests each console
page as the organisation's project manager through Django's test client (real database, real admin,
organisation scoping) and prints the median time and the number of SQL queries per page, plus what an
exact ``COUNT(*)`` would have cost next to the planner estimate the list pages use.
The last line is the result as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

try:  # run as a script: bench/ is sys.path[0]
    from _setup import django_setup, ensure_database
except ModuleNotFoundError:  # imported by the tests as bench.<name>
    from bench._setup import django_setup, ensure_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/annotate_bench_g"
PER_ITEM = 5


def insert_select(model, exprs: dict, from_sql: str, params: list) -> int:
    """INSERT INTO model's table SELECT ...; columns not in ``exprs`` get the field's Python default.

    ``exprs`` maps a column to SQL, or to (SQL, params). Reading the columns from the model keeps this
    working when other apps add fields.
    """
    from django.db import connection

    columns, values, all_params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        expr = exprs.get(field.column)
        if expr is not None:
            sql, expr_params = expr if isinstance(expr, tuple) else (expr, [])
            values.append(sql)
            all_params += expr_params
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            values.append("now()")
        else:
            values.append("%s")
            all_params.append(field.get_db_prep_save(field.get_default(), connection))
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} {from_sql}"
    with connection.cursor() as cursor:
        cursor.execute(sql, all_params + params)
        return cursor.rowcount


def seed(n_annotations: int, n_contributors: int, log, per_item: int = PER_ITEM) -> dict:
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotations.models import Annotation, Consensus
    from contributors.models import ContributorProfile
    from organizations.models import Membership, Organization
    from tasks.models import Assignment, Campaign, Item
    from tasks.services import create_campaign

    User = get_user_model()
    org, _ = Organization.objects.get_or_create(slug="bench-console", defaults={"name": "Bench console lab"})
    manager, created = User.objects.get_or_create(username="pm@bench.local", defaults={"email": "pm@bench.local"})
    if created:
        EmailAddress.objects.create(user=manager, email=manager.email, verified=True, primary=True)
    Membership.objects.get_or_create(organization=org, user=manager, defaults={"role": Membership.Role.MANAGER})
    name = f"Console bench {n_annotations}" + (f" x{per_item}" if per_item != PER_ITEM else "")
    campaign = Campaign.objects.filter(organization=org, name=name).first()
    if campaign is not None and Annotation.objects.filter(campaign=campaign).count() == n_annotations:
        log(f"reusing campaign {campaign.pk} with {n_annotations} annotations")
        seed_scores(campaign, log)
        return {"campaign": campaign, "manager": manager, "seconds": 0.0}
    if campaign is not None:
        campaign.delete()
    started = time.perf_counter()
    with transaction.atomic():
        campaign = create_campaign(organization=org, name=name, task_type="moderation", overlap=per_item,
                                   max_overlap=per_item, pay_per_task=300, budget=10_000_000)
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.ACTIVE)
        existing = list(User.objects.filter(username__startswith="bench-c").order_by("id")
                        .values_list("id", flat=True)[:n_contributors])
        if len(existing) < n_contributors:
            start = len(existing)
            users = User.objects.bulk_create(
                User(username=f"bench-c{i}@bench.local", email=f"bench-c{i}@bench.local")
                for i in range(start, n_contributors)
            )
            regions = ["north", "central", "south"]
            ContributorProfile.objects.bulk_create(
                ContributorProfile(user=u, display_name=f"C{u.pk}", region=regions[u.pk % 3], birth_year=1990)
                for u in users
            )
            existing += [u.pk for u in users]
        user_ids = existing[:n_contributors]
        n_items = n_annotations // per_item
        keys = ["safe", "hate", "harassment", "spam", "violence"]
        insert_select(Item, {
            "campaign_id": ("%s", [campaign.pk]), "external_id": "'ext-' || g", "payload": "jsonb_build_object('text', 'Bình luận số ' || g)",
            "search_text": "'ext-' || g || ' binh luan so ' || g",  # core.vietnamese.searchable_text's form
            "target_overlap": str(per_item), "leased_count": "0", "done_count": str(per_item), "open_slots": "0",
            "created_at": "now() - (g %% 10080) * interval '1 minute'",
        }, "FROM generate_series(1, %s) AS g", [n_items])
        log(f"  items: {n_items} in {time.perf_counter() - started:.1f} s")
        insert_select(Assignment, {
            "item_id": "i.id", "campaign_id": "i.campaign_id",
            "contributor_id": ("(%s::bigint[])[1 + ((i.id * 7 + j * 401) %% %s)]", [user_ids, len(user_ids)]),
            "state": "'submitted'", "leased_at": "i.created_at", "expires_at": "i.created_at",
            "finished_at": "i.created_at + interval '30 seconds'",
        }, "FROM tasks_item i CROSS JOIN generate_series(0, %s) AS j WHERE i.campaign_id = %s",
            [per_item - 1, campaign.pk])
        log(f"  assignments in {time.perf_counter() - started:.1f} s")
        insert_select(Annotation, {
            "assignment_id": "a.id", "item_id": "a.item_id", "campaign_id": "a.campaign_id",
            "contributor_id": "a.contributor_id",
            "payload": ("jsonb_build_object('categories', jsonb_build_array((%s::text[])[1 + ((a.item_id + "
                        "(a.contributor_id %% 3 = 0)::int) %% 5)]))", [keys]),
            "time_spent_ms": "4000 + (a.id %% 5000)", "created_at": "a.finished_at",
            # The consensus engine's stored verdict, consistent with the payloads and the consensus below.
            "agrees_with_consensus": "CASE WHEN a.item_id %% 20 = 0 THEN NULL ELSE a.contributor_id %% 3 <> 0 END",
        }, "FROM tasks_assignment a WHERE a.campaign_id = %s", [campaign.pk])
        log(f"  annotations in {time.perf_counter() - started:.1f} s")
        insert_select(Consensus, {
            "item_id": "i.id", "campaign_id": "i.campaign_id",
            "state": "CASE WHEN i.id %% 20 = 0 THEN 'disputed' ELSE 'finalised' END",
            "result": ("jsonb_build_object('categories', jsonb_build_array((%s::text[])[1 + (i.id %% 5)]))", [keys]),
            "confidence": "CASE WHEN i.id %% 20 = 0 THEN 0.4 ELSE 0.8 END", "agreement": "0.6",
            "method": "'majority_vote'", "n_answers": str(per_item), "updated_at": "i.created_at",
        }, "FROM tasks_item i WHERE i.campaign_id = %s", [campaign.pk])
    seed_scores(campaign, log)
    with connection.cursor() as cursor:
        for table in ("tasks_item", "tasks_assignment", "annotations_annotation", "annotations_consensus",
                      "contributors_contributorprofile", "auth_user"):
            cursor.execute(f"ANALYZE {table}")
    seconds = time.perf_counter() - started
    log(f"seeded {n_annotations} annotations in {seconds:.1f} s")
    return {"campaign": campaign, "manager": manager, "seconds": seconds}


def seed_scores(campaign, log) -> None:
    """An authenticity score per answer (one in 50 flagged), as if every answer had free text: the panel's
    worst case."""
    from django.db import connection

    from authenticity.models import AuthenticityScore

    with connection.cursor() as cursor:  # a campaign seeded before items had a search column
        cursor.execute("UPDATE tasks_item SET search_text = external_id || ' binh luan so ' || substr(external_id, 5) "
                       "WHERE campaign_id = %s AND search_text = ''", [campaign.pk])
    if AuthenticityScore.objects.filter(campaign=campaign).exists():
        return
    started = time.perf_counter()
    insert_select(AuthenticityScore, {
        "annotation_id": "a.id", "campaign_id": "a.campaign_id", "contributor_id": "a.contributor_id",
        "score": "CASE WHEN a.id %% 50 = 0 THEN 0.2 ELSE 0.9 END", "flagged": "a.id %% 50 = 0",
        "reasons": "CASE WHEN a.id %% 50 = 0 THEN '[\"pasted\"]'::jsonb ELSE '[]'::jsonb END",
        "behaviour_evidence": "CASE WHEN a.id %% 50 = 0 THEN 'pasted' ELSE 'typed' END",
        "components": "jsonb_build_object('behaviour', jsonb_build_object('typing_cps', 3 + (a.id %% 5)))",
        "text_chars": "120", "pasted_share": "CASE WHEN a.id %% 50 = 0 THEN 0.9 ELSE 0.0 END",
    }, "FROM annotations_annotation a WHERE a.campaign_id = %s", [campaign.pk])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE authenticity_authenticityscore")
    log(f"  authenticity scores in {time.perf_counter() - started:.1f} s")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(client, url: str, repeat: int) -> dict:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries, status = [], 0, 0
    client.get(url)  # warm-up (templates, content types)
    for _ in range(repeat):
        cache.clear()  # nothing from the cache: the dashboard's stored summaries (database rows) are what pages read
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            res = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        queries, status = len(captured), res.status_code
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1), "queries": queries,
            "status": status}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--annotations", type=int, default=1_000_000)
    parser.add_argument("--contributors", type=int, default=2000)
    parser.add_argument("--per-item", type=int, default=PER_ITEM, help="answers per item")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.annotations, args.contributors, args.repeat = 500, 20, 1
    if urlparse(args.database_url).scheme.startswith("postgres"):
        ensure_database(args.database_url)
    # No Redis (local-memory cache): every dashboard request below is computed. TESTING: static files
    # from the finders, no collectstatic manifest needed.
    django_setup(args.database_url, TESTING=os.environ.get("TESTING", "1"))
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    if not args.no_migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    data = seed(args.annotations, args.contributors, _log, per_item=args.per_item)
    campaign = data["campaign"]

    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from annotations.models import Annotation
    from web.console import EstimatedCountPaginator, scope_to_user

    client = Client()
    client.force_login(data["manager"])
    pages = {
        "annotation list": reverse("admin:annotations_annotation_changelist"),
        "annotation list, one campaign": reverse("admin:annotations_annotation_changelist")
        + f"?campaign__id__exact={campaign.pk}",
        "annotation list, page 500": reverse("admin:annotations_annotation_changelist") + "?p=500",
        "item list": reverse("admin:tasks_item_changelist"),
        "assignment list": reverse("admin:tasks_assignment_changelist"),
        "consensus list, disputed": reverse("admin:annotations_consensus_changelist") + "?state__exact=disputed",
        "review queue (disputed)": reverse("review:queue") + f"?campaign={campaign.pk}",
        "review item": reverse("review:item", args=[campaign.items.order_by("id").values_list("id", flat=True)[0]]),
        "campaign change form": reverse("admin:tasks_campaign_change", args=[campaign.pk]),
        "dashboard JSON poll (stored summary)": reverse("review:dashboard-json", args=[campaign.pk]),
        "dashboard page (stored summary)": reverse("review:dashboard", args=[campaign.pk]),
        "dataset view": reverse("review:dataset", args=[campaign.pk]),
        "dataset view, disputed, agreement <= 0.7": reverse("review:dataset", args=[campaign.pk])
        + "?state=disputed&max_agreement=0.7",
        "dataset view, search 'binh luan so 4242'": reverse("review:dataset", args=[campaign.pk])
        + "?q=B%C3%ACnh+lu%E1%BA%ADn+s%E1%BB%91+4242",
        "dataset view, search, sort agreement": reverse("review:dataset", args=[campaign.pk])
        + "?q=luan+so+777&sort=agreement",
        "dataset API, search 'binh luan so 4242'": reverse("campaign-dataset", args=[campaign.pk])
        + "?q=binh+luan+so+4242",
    }
    # The first view ever (nothing stored yet) computes both inline, as a small campaign's always does.
    from authenticity.models import CampaignReport
    from review.models import DashboardSummary

    DashboardSummary.objects.filter(campaign=campaign).delete()
    CampaignReport.objects.filter(campaign=campaign).delete()
    t0 = time.perf_counter()
    first_view = client.get(reverse("review:dashboard", args=[campaign.pk])).status_code
    first_ms = round((time.perf_counter() - t0) * 1000, 1)
    print(f"{'dashboard page, first view ever':34s} {first_ms:9.1f} ms  HTTP {first_view}", flush=True)
    results = {"dashboard page, first view ever": {"median_ms": first_ms, "max_ms": first_ms, "queries": 0,
                                                   "status": first_view}}
    for label, url in pages.items():
        results[label] = measure(client, url, args.repeat)
        r = results[label]
        print(f"{label:34s} {r['median_ms']:9.1f} ms median {r['max_ms']:9.1f} ms max {r['queries']:3d} queries"
              f"  HTTP {r['status']}", flush=True)

    # What the page no longer does: the stored figures' and authenticity panel's refresh (a job for a big
    # campaign; inline for one under review.dashboard.DASHBOARD_BIG answers).
    from authenticity.services import refresh_report
    from review.tasks import refresh_dashboard

    refresh = {}
    for label, job in (("dashboard figures refresh (job)", lambda: refresh_dashboard(campaign.pk, "en")),
                       ("authenticity panel refresh (job)", lambda: refresh_report(campaign, language="en"))):
        t0 = time.perf_counter()
        job()
        refresh[label] = round((time.perf_counter() - t0) * 1000, 1)
        print(f"{label:34s} {refresh[label]:9.1f} ms", flush=True)

    scoped = scope_to_user(Annotation.objects.all(), data["manager"])
    t0 = time.perf_counter()
    exact = scoped.count()
    exact_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    estimate = EstimatedCountPaginator(scoped, 100).count
    estimate_ms = (time.perf_counter() - t0) * 1000
    print(f"{'exact COUNT(*) of the scoped list':34s} {exact_ms:9.1f} ms ({exact} rows)")
    print(f"{'planner estimate (what pages use)':34s} {estimate_ms:9.1f} ms ({estimate} rows)"
          f"{'' if connection.vendor == 'postgresql' else ' - exact: not PostgreSQL'}")
    summary = {
        "annotations": args.annotations, "items": args.annotations // args.per_item,
        "seed_seconds": round(data["seconds"], 1), "pages": results, "refresh_ms": refresh,
        "count": {"exact_ms": round(exact_ms, 1), "exact": exact, "estimate_ms": round(estimate_ms, 1),
                  "estimate": estimate},
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
