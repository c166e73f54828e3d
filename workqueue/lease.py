"""Leasing: give a contributor their next item (README.md here: the pick, the predicate, the two paths).

The pick is one indexed statement on PostgreSQL: items carry ``open_slots = target_overlap - leased_count -
done_count``; a partial index covers rows with open slots; the pick locks its row with ``FOR UPDATE SKIP
LOCKED`` so concurrent contributors never wait on each other nor take the same slot; the unique (item,
contributor) constraint is the last line of defence against a contributor seeing an item twice.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import metrics
from core.rawsql import fetch_prepared, jsonb
from tasks.models import Assignment, Campaign, Item, cost_sql
from tasks.profile_rules import SEPARATOR
from tasks.types.base import TaskType

from . import counters
from .eligibility import candidates, predicate_sql
from .expiry import reclaim_expired_leases
from .selectors import (
    contributor_block_reason,
    full_quota,
    open_lease_for,
    profile_with_flags,
    quota_cap,
    quota_full_reason,
    quota_keys,
    regular_target,
)


@dataclass
class NoWork:
    """The queue had nothing for this contributor; ``reason`` says why, for the page and the API."""

    reason: str
    code: str


# --- the pick ------------------------------------------------------------------------------
# One statement on PostgreSQL: return the contributor's open lease in the campaign if there is one;
# otherwise choose the best item the predicate admits (eligibility.py), lock it (skipping rows others hold),
# take a slot and insert the lease. In autocommit mode that is one round trip; a unique violation
# (two tabs racing) rolls the whole statement back, so counters never drift.
_PICK_SQL = """
WITH open_lease AS (
    SELECT a.id, a.item_id, a.leased_at, a.expires_at, a.view, a.region FROM tasks_assignment a
    WHERE a.contributor_id = %(user)s AND a.campaign_id = %(campaign)s AND a.state = 'leased'
), picked AS (
    SELECT i.id FROM tasks_item i
    WHERE NOT EXISTS (SELECT 1 FROM open_lease) AND {predicate}
    ORDER BY {order}
    LIMIT 1
    FOR UPDATE OF i SKIP LOCKED
){reserve}, leased AS (
    UPDATE tasks_item i SET {take_slot}
    FROM picked{reserved} WHERE i.id = picked.id
    RETURNING i.id, i.payload
), lease AS (
    INSERT INTO tasks_assignment
        (item_id, campaign_id, contributor_id, state, leased_at, expires_at, finished_at, view, reason, region)
    SELECT leased.id, %(campaign)s, %(user)s, 'leased', %(now)s, %(expires)s, NULL, '{{}}'::jsonb, '', %(region)s
    FROM leased
    RETURNING id, item_id, leased_at, expires_at, view, region
)
SELECT lease.id, leased.id, leased.payload, lease.leased_at, lease.expires_at, lease.view, lease.region, true
FROM lease JOIN leased ON leased.id = lease.item_id
UNION ALL
SELECT o.id, o.item_id, i.payload, o.leased_at, o.expires_at, o.view, o.region, false
FROM open_lease o JOIN tasks_item i ON i.id = o.item_id{over_budget}
"""
# A campaign with a budget: the picked item's cost (pay + fee) is added to the campaign's ``budget_used`` in the
# same statement, guarded by the budget (a concurrent lease waits for the row and re-checks the guard on the new
# value), and the item is leased only if that update matched. When an item was there but the budget was not,
# one marker row (id NULL) says so. Campaigns without a budget run the statement without these parts.
_RESERVE = f"""
, reserved AS (
    UPDATE tasks_campaign c SET budget_used = c.budget_used + {cost_sql("c")}
    FROM picked WHERE c.id = %(campaign)s AND c.budget_used + {cost_sql("c")} <= c.budget
    RETURNING c.id
)"""
_OVER_BUDGET = """
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, false
WHERE EXISTS (SELECT 1 FROM picked) AND NOT EXISTS (SELECT 1 FROM reserved)"""
_CAPPED = {"reserve": _RESERVE, "reserved": ", reserved", "over_budget": _OVER_BUDGET}
_UNCAPPED = {"reserve": "", "reserved": "", "over_budget": ""}
# Regular items: the campaign's order (priority, then oldest), from item_queue_idx.
# Gold items: every contributor may meet each gold item once, in random order so no gold item is
# recognisable by its position; their counters move like any item's but never gate the pick.
_PICKS = {
    (gold, capped): _PICK_SQL.format(
        predicate=predicate_sql("i", gold=gold), order="random()" if gold else "i.priority DESC, i.id",
        take_slot=counters.set_sql(counters.LEASED, "i"), **(_CAPPED if capped else _UNCAPPED))
    for gold in (False, True) for capped in (False, True)
}
_BUDGET_SPENT = object()  # what a lease returns when an item was there but the budget could not cover it


def _lease_postgres(campaign: Campaign, user, *, gold: bool, region: str, now, expires) -> tuple | None:
    params = {
        "campaign": campaign.pk, "user": user.pk, "gold": gold, "region": region, "now": now, "expires": expires,
    }
    row = fetch_prepared(_PICKS[gold, campaign.budget is not None], params)
    if row is None:
        return None
    if row[0] is None:
        return _BUDGET_SPENT
    return (*row[:2], jsonb(row[2]), row[3], row[4], jsonb(row[5]), *row[6:])


def _lease_portable(campaign: Campaign, user, *, gold: bool, region: str, now, expires) -> tuple | None:
    """The same steps through the ORM for SQLite (the embedded demo), where writers are serialised."""
    lease = open_lease_for(user, campaign)
    if lease is not None:
        return lease.pk, lease.item_id, lease.item.payload, lease.leased_at, lease.expires_at, lease.view, lease.region, False
    queryset = candidates(campaign_id=campaign.pk, user_id=user.pk, gold=gold)
    queryset = queryset.order_by("?") if gold else queryset.order_by("-priority", "id")
    item = queryset.only("id", "payload").first()
    if item is None:
        return None
    if campaign.budget is not None and not counters.reserve_budget(campaign.pk):
        return _BUDGET_SPENT
    counters.count_lease(item.pk)
    assignment = Assignment.objects.create(
        item_id=item.pk, campaign=campaign, contributor=user, leased_at=now, expires_at=expires, region=region
    )
    return assignment.pk, item.pk, item.payload, now, expires, {}, region, True


def _lease(campaign: Campaign, user, *, gold: bool, region: str, rng: random.Random):
    """The contributor's open lease (``resumed`` True, possibly run out), or a new lease, or None, or
    ``_BUDGET_SPENT`` (an item was there but the campaign's budget could not cover its cost).

    Raises IntegrityError when a unique guard fires (the same contributor racing in two tabs);
    the statement is then rolled back whole and the caller looks again.
    """
    task = campaign.task
    custom_view = type(task).prepare_view is not TaskType.prepare_view
    db = connections[DEFAULT_DB_ALIAS]  # once: each access through the ``connection`` proxy costs a look-up
    postgres = db.vendor == "postgresql"
    lease = _lease_postgres if postgres else _lease_portable
    now = timezone.now()
    expires = now + timedelta(seconds=campaign.lease_seconds)
    # Outside any transaction the pick is one autocommit statement; a task type that shows each
    # contributor its own view (e.g. shuffled responses) needs a transaction so the lease and its
    # view are stored together.
    if db.in_atomic_block or custom_view or not postgres:
        with transaction.atomic():
            row = lease(campaign, user, gold=gold, region=region, now=now, expires=expires)
            if row is not None and row is not _BUDGET_SPENT and row[7] and custom_view:
                view = task.prepare_view(item_payload=row[2], config=campaign.config, rng=rng)
                Assignment.objects.filter(pk=row[0]).update(view=view)
                row = (*row[:5], view, *row[6:])
    else:
        row = lease(campaign, user, gold=gold, region=region, now=now, expires=expires)
    if row is None or row is _BUDGET_SPENT:
        return row
    assignment_id, item_id, payload, leased_at, expires_at, view, lease_region, is_new = row
    # Both rows exist: built as loaded rows from what the statement returned (positional, without the keyword
    # constructor's defaults: on every lease), the item with its payload only (the rest deferred).
    item = Item.from_db(db.alias, ("id", "campaign_id", "payload"), (item_id, campaign.pk, payload))
    values = {
        "id": assignment_id, "state": Assignment.State.LEASED, "leased_at": leased_at, "expires_at": expires_at,
        "finished_at": None, "view": view, "reason": "", "contributor_id": user.pk, "campaign_id": campaign.pk,
        "item_id": item_id, "region": lease_region,
    }
    assignment = Assignment.from_db(db.alias, _ASSIGNMENT_FIELDS, [values[name] for name in _ASSIGNMENT_FIELDS])
    item.campaign = assignment.campaign = campaign
    assignment.item = item
    assignment.contributor = user
    assignment.resumed = not is_new
    return assignment


_ASSIGNMENT_FIELDS = tuple(f.attname for f in Assignment._meta.concrete_fields)

_NOT_READ = object()


def lease_next_item(
    *, user, campaign: Campaign, rng: random.Random | None = None, profile=_NOT_READ
) -> Assignment | NoWork:
    outcome = _lease_next_item(user=user, campaign=campaign, rng=rng, profile=profile)
    metrics.count_lease("leased" if isinstance(outcome, Assignment) else outcome.code)
    return outcome


def _lease_next_item(*, user, campaign: Campaign, rng: random.Random | None, profile) -> Assignment | NoWork:
    """Give the contributor their next item in the campaign, or say why there is none.

    Order: eligibility; the contributor's open lease (resumed; expired first if it ran out); the
    region quota; gold at the campaign's rate; regular work. When nothing is open, expired leases
    of the campaign are reclaimed and the pick is tried once more.
    """
    if profile is _NOT_READ:  # a caller that read it already (selectors.queue_context) passes it, even None
        profile = profile_with_flags(user)
    block = contributor_block_reason(user, campaign, profile=profile)
    if block:
        return NoWork(reason=block[1], code=block[0])
    rng = rng or random.Random()
    # The quota tallies a lease takes (region, attribute=value); none in most campaigns: the plain pick.
    keys = quota_keys(campaign, profile) if campaign.region_quotas or campaign.profile_rules else []
    for _attempt in range(3):
        if keys:
            # The quota slots are taken before the pick, so look for an open lease first here.
            lease = open_lease_for(user, campaign)
            if lease is not None and lease.expires_at > timezone.now():
                lease.campaign = campaign
                return lease
            if lease is not None:
                reclaim_expired_leases(assignment_id=lease.pk)
            full = full_quota(campaign, keys)
            if full is not None:
                return NoWork(reason=quota_full_reason(full), code="quota_full")
        try:
            outcome = _pick_and_lease(campaign, user, keys=keys, rng=rng)
        except IntegrityError:
            continue  # a parallel request of the same contributor won: resume its lease
        if isinstance(outcome, Assignment) and outcome.expires_at <= timezone.now():
            reclaim_expired_leases(assignment_id=outcome.pk)  # their own lease ran out: free it, pick anew
            continue
        return outcome
    return NoWork(reason=_("The queue is busy, please try again."), code="busy")


_NO_BUDGET = _("This campaign's budget is fully committed; check again later.")


def _pick_and_lease(campaign: Campaign, user, *, keys: list[str], rng: random.Random) -> Assignment | NoWork:
    if campaign.gold_rate > 0 and rng.random() < campaign.gold_rate:
        assignment = _lease(campaign, user, gold=True, region="", rng=rng)
        if assignment is _BUDGET_SPENT:
            return NoWork(reason=_NO_BUDGET, code="budget")
        if assignment is not None:
            return assignment
    for _round in range(2):
        if keys:
            # One slot of each tally, taken by a guarded UPDATE that cannot pass its cap, in the pick's transaction:
            # concurrent picks queue on the tally rows, so no quota is ever overfilled; no lease, no slots.
            target = regular_target(campaign)
            with transaction.atomic():
                full = counters.take_quota_slots(campaign, {key: quota_cap(campaign, key, target) for key in keys})
                if full is not None:
                    transaction.set_rollback(True)  # give back the slots taken before the full one
                    return NoWork(reason=quota_full_reason(full), code="quota_full")
                assignment = _lease(campaign, user, gold=False, region=SEPARATOR.join(keys), rng=rng)
                if assignment is None or assignment is _BUDGET_SPENT or assignment.resumed:
                    transaction.set_rollback(True)  # no new lease: give the quota slot back
        else:
            assignment = _lease(campaign, user, gold=False, region="", rng=rng)
        if assignment is _BUDGET_SPENT:
            if reclaim_expired_leases(campaign_id=campaign.pk, limit=500):
                continue  # expired leases gave their cost back: look once more
            return NoWork(reason=_NO_BUDGET, code="budget")
        if assignment is not None:
            return assignment
        if not reclaim_expired_leases(campaign_id=campaign.pk, limit=500):
            break
    return NoWork(reason=_("No more items in this campaign for you right now."), code="empty")
