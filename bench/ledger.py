"""Ledger benchmark (issue 25): 1M entries, then the time of a contributor's balance (cached and derived from its
entries) and of ``ledger_check``.

    .venv/bin/python bench/ledger.py                 # 1,000,000 entries on BENCH_DATABASE_URL
    .venv/bin/python bench/ledger.py --smoke         # 2,000 entries (the test suite runs this)

Targets (the issue): a balance under 10 ms, ``ledger_check`` under 60 s. The entries are generated in PostgreSQL
(generate_series): 2-leg transactions from the platform's funding account to contributors' available accounts.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from urllib.parse import urlparse

try:
    from _setup import django_setup, ensure_database
except ImportError:  # imported by the tests as bench.ledger
    from bench._setup import django_setup, ensure_database

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/annotate_bench_ledger"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def seed(entries: int, contributors: int) -> list[int]:
    """Write ``entries`` entries (half as many transactions) and the cached balances; the contributors' ids."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from payments import ledger
    from payments.models import Account

    User = get_user_model()
    start = User.objects.count()
    users = User.objects.bulk_create([User(username=f"ledger{start + i}", password="!") for i in range(contributors)])
    accounts = Account.objects.bulk_create([Account(kind=Account.Kind.AVAILABLE, contributor=u) for u in users])
    funding = ledger.platform(Account.Kind.FUNDING)
    n = entries // 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM payments_ledgertransaction")
        base = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO payments_ledgertransaction (id, key, kind, memo, created_at) "
            "SELECT %s + g, 'bench:' || (%s + g), 'release', '', now() FROM generate_series(1, %s) g",
            [base, base, n])
        cursor.execute("SELECT setval(pg_get_serial_sequence('payments_ledgertransaction', 'id'), %s)", [base + n])
        ids = [a.pk for a in accounts]
        cursor.execute(
            "INSERT INTO payments_entry (transaction_id, account_id, amount) "
            "SELECT %s + g, (%s::bigint[])[1 + g %% %s], 1000 + g %% 7 FROM generate_series(1, %s) g "
            "UNION ALL SELECT %s + g, %s, -(1000 + g %% 7) FROM generate_series(1, %s) g",
            [base, ids, len(ids), n, base, funding.pk, n])
        cursor.execute(
            "UPDATE payments_account a SET balance = s.total FROM (SELECT account_id, sum(amount) AS total "
            "FROM payments_entry GROUP BY account_id) s WHERE a.id = s.account_id")
        cursor.execute("ANALYZE payments_entry; ANALYZE payments_account; ANALYZE payments_ledgertransaction")
    return [u.pk for u in users]


def _timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 2)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--contributors", type=int, default=5000)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.entries, args.contributors = 2000, 20
    if urlparse(args.database_url).scheme.startswith("postgres"):
        ensure_database(args.database_url)
    django_setup(args.database_url, TESTING=os.environ.get("TESTING", "1"))
    from django.core.management import call_command
    from django.db.models import Sum

    from payments.checks import breaches
    from payments.models import Account, Entry

    if not args.no_migrate:
        call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    users = seed(args.entries, args.contributors)
    seeded_s = round(time.perf_counter() - t0, 1)
    _log(f"seeded {args.entries} entries in {seeded_s} s")
    who = users[len(users) // 2]
    account = Account.objects.get(kind=Account.Kind.AVAILABLE, contributor_id=who)
    cached_ms = _timed(lambda: Account.objects.filter(contributor_id=who, kind="available")
                       .values_list("balance", flat=True).first(), 50)
    derived_ms = _timed(lambda: Entry.objects.filter(account_id=account.pk).aggregate(s=Sum("amount")), 20)
    t0 = time.perf_counter()
    found = breaches()
    check_s = round(time.perf_counter() - t0, 2)
    summary = {"entries": args.entries, "total_entries": Entry.objects.count(), "seed_s": seeded_s,
               "balance_cached_ms": cached_ms, "balance_from_entries_ms": derived_ms, "ledger_check_s": check_s,
               "breaches": found}
    _log(f"balance (cached) {cached_ms} ms, balance (sum of entries) {derived_ms} ms, ledger_check {check_s} s")
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
