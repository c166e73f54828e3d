"""Expiry: leases past their time give their slots back. The pick treats nothing as free until this runs, so
it runs lazily from the pick (one lease, or a campaign when nothing is open) and from the beat sweep."""
from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.utils import timezone

from core import metrics
from tasks.models import Assignment, cost_sql

from . import counters

_RECLAIM_SQL = f"""
WITH expired AS (
    UPDATE tasks_assignment SET state = 'expired', finished_at = %(now)s
    WHERE state = 'leased' AND id IN (
        SELECT id FROM tasks_assignment
        WHERE state = 'leased' AND expires_at < %(now)s {{filter}}
        ORDER BY expires_at LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED)
    RETURNING item_id, campaign_id, region
), items AS (
    UPDATE tasks_item i SET {counters.set_sql(counters.GIVEN_BACK, "i", "e.n")}
    FROM (SELECT item_id, count(*) AS n FROM expired GROUP BY item_id) e WHERE i.id = e.item_id
), tallies AS (
    UPDATE tasks_regiontally t SET taken = t.taken - e.n
    FROM (SELECT campaign_id, k AS region, count(*) AS n
          FROM expired, unnest(string_to_array(expired.region, '|')) k WHERE expired.region <> '' GROUP BY 1, 2) e
    WHERE t.campaign_id = e.campaign_id AND t.region = e.region
), budgets AS (
    UPDATE tasks_campaign c SET budget_used = c.budget_used - e.n * {cost_sql("c")}
    FROM (SELECT campaign_id, count(*) AS n FROM expired GROUP BY 1) e
    WHERE c.id = e.campaign_id AND c.budget IS NOT NULL
)
SELECT count(*) FROM expired
"""


def reclaim_expired_leases(
    *, campaign_id: int | None = None, assignment_id: int | None = None, limit: int = 500
) -> int:
    """Mark leases past their expiry as expired and give their slots back to items and quotas.

    Safe to run concurrently (beat sweep and request-time checks): a lease being submitted right
    now is locked and skipped, and the state = 'leased' guard lets only one sweeper win a lease.
    """
    now = timezone.now()
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql":
        where = ("AND campaign_id = %(campaign)s " if campaign_id else "") + (
            "AND id = %(assignment)s" if assignment_id else ""
        )
        params = {"now": now, "limit": limit, "campaign": campaign_id, "assignment": assignment_id}
        try:
            with transaction.atomic(), db.cursor() as cursor:
                cursor.execute(_RECLAIM_SQL.format(filter=where), params)
                reclaimed = cursor.fetchone()[0]
            metrics.count_expired(reclaimed)
            return reclaimed
        except OperationalError:
            return 0  # a deadlock with another sweeper: the next sweep takes these leases
    expired = Assignment.objects.filter(state=Assignment.State.LEASED, expires_at__lt=now)
    if campaign_id is not None:
        expired = expired.filter(campaign_id=campaign_id)
    if assignment_id is not None:
        expired = expired.filter(pk=assignment_id)
    reclaimed = 0
    for pk, item_id, lease_campaign_id, region in list(
        expired.values_list("id", "item_id", "campaign_id", "region")[:limit]
    ):
        with transaction.atomic():
            changed = Assignment.objects.filter(pk=pk, state=Assignment.State.LEASED).update(
                state=Assignment.State.EXPIRED, finished_at=now
            )
            if changed:
                counters.give_back(item_id, lease_campaign_id, region)
                reclaimed += 1
    metrics.count_expired(reclaimed)
    return reclaimed
