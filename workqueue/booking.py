"""Booking: lease the item a contributor chose (a place to visit) instead of the queue's next one.

Field work is chosen by the contributor from a list sorted by distance, so the pick is theirs, but
every rule of the queue still holds: the same eligibility checks (``contributor_block_reason``), the
same predicate (``eligibility.candidates``: an open slot, never the same item twice), the same budget
hold and counters, one open lease per contributor and campaign. The chosen item's row is locked
(``select_for_update``) so two contributors booking the last slot of a place cannot both get it: a
place's quota is its ``target_overlap`` (the campaign's overlap, 1 by default: one contributor per
place and window). Region and profile-attribute quotas hold as in the pick: one slot of each tally is taken
in the booking's transaction (``counters.take_quota_slots``) and the lease names them.
"""
from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tasks.models import Assignment, Campaign, Item
from tasks.profile_rules import SEPARATOR

from . import counters
from .eligibility import candidates
from .expiry import reclaim_expired_leases
from .lease import NoWork
from .selectors import (
    contributor_block_reason,
    open_lease_for,
    profile_with_flags,
    quota_cap,
    quota_full_reason,
    quota_keys,
    regular_target,
)


def book_item(*, user, campaign: Campaign, item_id: int) -> Assignment | NoWork:
    """Lease ``item_id`` for ``user``; their open lease in the campaign when they already hold one."""
    profile = profile_with_flags(user)
    block = contributor_block_reason(user, campaign, profile=profile)
    if block:
        return NoWork(reason=block[1], code=block[0])
    keys = quota_keys(campaign, profile) if campaign.region_quotas or campaign.profile_rules else []
    now = timezone.now()
    try:
        with transaction.atomic():
            lease = open_lease_for(user, campaign)
            if lease is not None and lease.expires_at > now:
                if lease.item_id != item_id:
                    return NoWork(reason=_("Finish or release your current booking first."), code="booked")
                return lease
            if lease is not None:
                reclaim_expired_leases(assignment_id=lease.pk)  # their booking ran out: free it first
            item = (candidates(campaign_id=campaign.pk, user_id=user.pk).select_for_update()
                    .filter(pk=item_id).only("id", "payload").first())
            if item is None:
                exists = Item.objects.filter(pk=item_id, campaign=campaign).exists()
                return NoWork(reason=_("This place is fully booked.") if exists else _("No such place."),
                              code="full" if exists else "not_found")
            if campaign.budget is not None and not counters.reserve_budget(campaign.pk):
                return NoWork(reason=_("This campaign's budget is fully committed; check again later."), code="budget")
            if keys:
                target = regular_target(campaign)
                full = counters.take_quota_slots(campaign, {key: quota_cap(campaign, key, target) for key in keys})
                if full is not None:
                    transaction.set_rollback(True)  # the slots taken before the full one, and the budget hold
                    return NoWork(reason=quota_full_reason(full), code="quota_full")
            counters.count_lease(item.pk)
            assignment = Assignment.objects.create(item=item, campaign=campaign, contributor=user, leased_at=now,
                                                   expires_at=now + timedelta(seconds=campaign.lease_seconds),
                                                   region=SEPARATOR.join(keys))
    except IntegrityError:
        return NoWork(reason=_("You already booked this place."), code="booked")
    return assignment
