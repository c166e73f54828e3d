"""The one owner of the queue's counters: every write to an item's ``leased_count``, ``done_count``,
``target_overlap`` and ``open_slots`` and to a region's ``RegionTally.taken`` goes through this module.

Each change is a named *transition* (how much each counter moves). The PostgreSQL statements of the
lease, the submit and the expiry sweep put a transition into their own SQL (``set_sql``) so they stay
one round trip; the portable path and the rarer writes call the functions below. Every transition keeps
``open_slots = target_overlap - leased_count - done_count``; ``manage.py queue_recount`` checks that
and recounts everything from assignments and answers (``recount``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from annotations.models import Annotation
from tasks.models import Assignment, Campaign, Item, RegionTally, cost_sql
from tasks.profile_rules import SEPARATOR

# transition -> {counter: +1 or -1}
LEASED = {"leased_count": 1, "open_slots": -1}  # a lease taken
GIVEN_BACK = {"leased_count": -1, "open_slots": 1}  # a lease skipped, reported or expired
ANSWERED = {"done_count": 1, "leased_count": -1}  # an open lease answered
ANSWERED_LATE = {"done_count": 1, "open_slots": -1}  # an expired lease answered (expiry gave its slot back)
MORE_WANTED = {"target_overlap": 1, "open_slots": 1}  # consensus or a reviewer asks for one more answer


def set_sql(transition: dict[str, int], alias: str, n: str = "1") -> str:
    """The transition as the SET list of an UPDATE of ``tasks_item`` aliased ``alias``, ``n`` times
    (an SQL expression)."""
    return ", ".join(f"{name} = {alias}.{name} {'+' if sign > 0 else '-'} {n}" for name, sign in transition.items())


def _apply(items, transition: dict[str, int], n: int = 1) -> int:
    return items.update(**{name: F(name) + sign * n for name, sign in transition.items()})


# --- items ----------------------------------------------------------------------------------------

def count_lease(item_id: int) -> None:
    """A lease was taken on the item (the portable pick; PostgreSQL's pick writes ``set_sql(LEASED)``)."""
    _apply(Item.objects.filter(pk=item_id), LEASED)


def give_back(item_id: int, campaign_id: int, region: str) -> None:
    """A lease ended without an answer: its slot returns to the item and to its region's quota, its cost to the
    campaign's budget."""
    _apply(Item.objects.filter(pk=item_id), GIVEN_BACK)
    release_budget(campaign_id)
    if region:
        RegionTally.objects.filter(campaign_id=campaign_id, region__in=region.split(SEPARATOR)).update(
            taken=F("taken") - 1)


def count_answer(item_id: int, *, late: bool, campaign_id: int, region: str) -> None:
    """An answer was stored. ``late``: its lease had expired, so the slot (and the region's share) the expiry
    gave back is taken again."""
    if not late:
        _apply(Item.objects.filter(pk=item_id), ANSWERED)
        return
    _apply(Item.objects.filter(pk=item_id), ANSWERED_LATE)
    if region:
        RegionTally.objects.filter(campaign_id=campaign_id, region__in=region.split(SEPARATOR)).update(
            taken=F("taken") + 1)


def request_more_answers(*, item_id: int, up_to: int) -> bool:
    """Dynamic overlap: raise an item's target by one (never past ``up_to``) so the queue serves it again."""
    return bool(_apply(Item.objects.filter(pk=item_id, target_overlap__lt=up_to), MORE_WANTED))


def request_more_answers_bulk(item_ids, *, up_to: int) -> list[int]:
    """``request_more_answers`` for many items (a campaign re-score); the ids whose target was raised."""
    ids = [int(i) for i in item_ids]
    raised: list[int] = []
    for start in range(0, len(ids), 5000):
        with transaction.atomic():
            locked = list(
                Item.objects.select_for_update().filter(pk__in=ids[start:start + 5000], target_overlap__lt=up_to)
                .values_list("id", flat=True)
            )
            _apply(Item.objects.filter(pk__in=locked), MORE_WANTED)
        raised.extend(locked)
    return raised



def stop_collecting(*, campaign_id: int, item_ids) -> list[int]:
    """No more answers wanted on these regular items (a model is sure of them, assist.services.stop_when_sure):
    the target drops to what is leased and answered, so ``open_slots`` becomes 0 in the same statement (a row's
    concurrent lease is serialised by its row lock). Gold items are never stopped. The ids that stopped."""
    ids = [int(i) for i in item_ids]
    stopped: list[int] = []
    for start in range(0, len(ids), 5000):
        rows = Item.objects.filter(campaign_id=campaign_id, pk__in=ids[start:start + 5000], open_slots__gt=0,
                                   is_gold=False)
        with transaction.atomic():
            chunk = list(rows.select_for_update().values_list("id", flat=True))
            Item.objects.filter(pk__in=chunk).update(target_overlap=F("target_overlap") - F("open_slots"),
                                                     open_slots=0)
        stopped.extend(chunk)
    return stopped

# --- the campaign's budget -----------------------------------------------------------------------
# ``Campaign.budget_used`` holds the cost (pay + fee) of every live lease and every answer not rejected, only in
# campaigns with a budget. PostgreSQL's pick reserves in its own statement (lease._RESERVE) and the expiry sweep
# releases in its own (expiry._RECLAIM_SQL); these are the same transitions for everything else.
_CAMPAIGNS = Campaign._meta.db_table
_RESERVE_SQL = (f"UPDATE {_CAMPAIGNS} SET budget_used = budget_used + {cost_sql(_CAMPAIGNS)}"
                f" WHERE id = %s AND budget IS NOT NULL AND budget_used + {cost_sql(_CAMPAIGNS)} <= budget")
_RELEASE_SQL = (f"UPDATE {_CAMPAIGNS} SET budget_used = budget_used - %s * {cost_sql(_CAMPAIGNS)}"
                f" WHERE id = %s AND budget IS NOT NULL")


def reserve_budget(campaign_id: int) -> bool:
    """Hold one task's cost of the campaign's budget; False when the budget cannot cover it."""
    with connection.cursor() as cursor:
        cursor.execute(_RESERVE_SQL, [campaign_id])
        return cursor.rowcount == 1


def release_budget(campaign_id: int, n: int = 1) -> None:
    """Give ``n`` tasks' cost back to the campaign's budget (a lease ended unanswered, an answer rejected)."""
    with connection.cursor() as cursor:
        cursor.execute(_RELEASE_SQL, [n, campaign_id])


# --- region quotas --------------------------------------------------------------------------------

def take_region_slot(campaign: Campaign, region: str, cap: int) -> bool:
    """Atomically take one answer slot of the region's quota (``cap`` answers); False when it is full."""
    for _attempt in range(2):
        if RegionTally.objects.filter(campaign=campaign, region=region, taken__lt=cap).update(taken=F("taken") + 1):
            return True
        if RegionTally.objects.filter(campaign=campaign, region=region).exists():
            return False
        RegionTally.objects.bulk_create([RegionTally(campaign=campaign, region=region)], ignore_conflicts=True)
    return False


def take_quota_slots(campaign: Campaign, caps: dict[str, int]) -> str | None:
    """Take one slot of each tally in ``caps`` (key -> cap), in order; the first key that was full, or None.
    Run in the caller's transaction: when a later key is full, the rollback gives the earlier slots back."""
    for key, cap in caps.items():
        if not take_region_slot(campaign, key, cap):
            return key
    return None


# --- recount --------------------------------------------------------------------------------------

@dataclass
class Drift:
    """What ``recount`` found wrong in one campaign."""

    campaign_id: int
    items: list[dict] = field(default_factory=list)  # {"id", "leased_count": (stored, real), ...}
    tallies: list[dict] = field(default_factory=list)  # {"region", "taken": (stored, real)}


def _real_counts():
    leased = (Assignment.objects.filter(item=OuterRef("pk"), state=Assignment.State.LEASED)
              .values("item").annotate(n=Count("id")).values("n"))
    done = Annotation.objects.filter(item=OuterRef("pk")).values("item").annotate(n=Count("id")).values("n")
    real_leased = Coalesce(Subquery(leased), Value(0))
    real_done = Coalesce(Subquery(done), Value(0))
    return real_leased, real_done


def _real_tallies(campaign_id: int) -> dict[str, int]:
    """A tally holds its live leases and its answers (gold leases take no quota slot)."""
    rows = (Assignment.objects.filter(campaign_id=campaign_id, state__in=[Assignment.State.LEASED,
                                                                          Assignment.State.SUBMITTED])
            .exclude(region="").values_list("region").annotate(n=Count("id")))
    tallies: dict[str, int] = {}
    for keys, n in rows:  # a lease holds one slot of each tally it names (region, attribute=value)
        for key in keys.split(SEPARATOR):
            tallies[key] = tallies.get(key, 0) + n
    return tallies


def recount(*, campaign_ids=None, fix: bool = False) -> list[Drift]:
    """Recount every item's counters and every region tally from assignments and answers; the campaigns that
    drifted, with what. ``fix``: rewrite the drifted counters (items locked while they are recounted)."""
    campaigns = Campaign.objects.order_by("id")
    if campaign_ids:
        campaigns = campaigns.filter(pk__in=campaign_ids)
    drifts = []
    for campaign_id in campaigns.values_list("id", flat=True):
        drift = _campaign_drift(campaign_id)
        if drift.items or drift.tallies:
            drifts.append(drift)
            if fix:
                _fix(drift)
    return drifts


def _campaign_drift(campaign_id: int) -> Drift:
    real_leased, real_done = _real_counts()
    rows = (
        Item.objects.filter(campaign_id=campaign_id).annotate(real_leased=real_leased, real_done=real_done)
        .filter(~Q(leased_count=F("real_leased")) | ~Q(done_count=F("real_done"))
                | ~Q(open_slots=F("target_overlap") - F("real_leased") - F("real_done")))
        .values("id", "leased_count", "done_count", "open_slots", "target_overlap", "real_leased", "real_done")
    )
    drift = Drift(campaign_id)
    for row in rows:
        real_open = row["target_overlap"] - row["real_leased"] - row["real_done"]
        drift.items.append({
            "id": row["id"],
            **{name: (row[name], real) for name, real in (
                ("leased_count", row["real_leased"]), ("done_count", row["real_done"]), ("open_slots", real_open))
               if row[name] != real},
        })
    real = _real_tallies(campaign_id)
    stored = dict(RegionTally.objects.filter(campaign_id=campaign_id).values_list("region", "taken"))
    for region in sorted(set(real) | set(stored)):
        if stored.get(region, 0) != real.get(region, 0):
            drift.tallies.append({"region": region, "taken": (stored.get(region, 0), real.get(region, 0))})
    return drift


def _fix(drift: Drift) -> None:
    ids = [row["id"] for row in drift.items]
    for start in range(0, len(ids), 1000):
        with transaction.atomic():
            # Locked first, recounted in the next statement: a lease or answer in flight on these rows waits
            # (or, for the pick, skips them), so nothing lands between the count and the write.
            locked = list(Item.objects.select_for_update().filter(pk__in=ids[start:start + 1000])
                          .values_list("id", flat=True))
            real_leased, real_done = _real_counts()
            Item.objects.filter(pk__in=locked).update(
                leased_count=real_leased, done_count=real_done,
                open_slots=F("target_overlap") - real_leased - real_done,
            )
    if drift.tallies:
        with transaction.atomic():
            list(RegionTally.objects.select_for_update().filter(campaign_id=drift.campaign_id))
            real = _real_tallies(drift.campaign_id)
            for row in drift.tallies:
                taken = real.get(row["region"], 0)
                updated = RegionTally.objects.filter(campaign_id=drift.campaign_id, region=row["region"]).update(
                    taken=taken)
                if not updated:
                    RegionTally.objects.create(campaign_id=drift.campaign_id, region=row["region"], taken=taken)
