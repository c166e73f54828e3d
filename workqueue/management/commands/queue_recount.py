"""Recount the queue's counters from assignments and answers; report drift per campaign, exit 1 on drift.

    manage.py queue_recount [--campaign ID ...] [--fix]

Without ``--fix`` nothing is written: a monitoring job can run it and alert on the exit code. With ``--fix`` the
drifted items and region tallies are rewritten (each item locked while it is recounted) and the command exits 0.
"""
from django.core.management.base import BaseCommand

from workqueue.counters import recount


class Command(BaseCommand):
    help = "Recount item counters and region tallies from assignments and answers; report (and --fix) drift."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", type=int, action="append", dest="campaigns", help="only this campaign")
        parser.add_argument("--fix", action="store_true", help="rewrite the counters that drifted")

    def handle(self, *args, campaigns=None, fix=False, **options):
        drifts = recount(campaign_ids=campaigns, fix=fix)
        for drift in drifts:
            self.stdout.write(
                f"campaign {drift.campaign_id}: {len(drift.items)} item(s), {len(drift.tallies)} region tally(ies) "
                f"drifted{' (fixed)' if fix else ''}"
            )
            for row in drift.items[:20]:
                changes = ", ".join(f"{name} {was} -> {real}" for name, (was, real) in
                                    ((n, v) for n, v in row.items() if n != "id"))
                self.stdout.write(f"  item {row['id']}: {changes}")
            if len(drift.items) > 20:
                self.stdout.write(f"  ... and {len(drift.items) - 20} more items")
            for row in drift.tallies:
                self.stdout.write(f"  region {row['region']}: taken {row['taken'][0]} -> {row['taken'][1]}")
        if not drifts:
            self.stdout.write("No drift: every counter agrees with its assignments and answers.")
        elif not fix:
            raise SystemExit(1)
