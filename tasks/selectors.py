"""Reads for campaigns and the queue."""
from __future__ import annotations

import math

from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from contributors.models import ContributorProfile
from contributors.selectors import (
    eligibility_flags_sql,
    is_qualified,
    profile_for,
    set_eligibility_flags,
    trust_score,
    verification_level,
)
from core.rawsql import fetch_joined, fetch_one

from .models import Assignment, Campaign


def contributor_block_reason(user, campaign: Campaign, profile=None) -> tuple[str, str] | None:
    """Why this user may not take work in this campaign now, as (code, message), or None.

    The checks run cheapest first and skip what the campaign does not ask for, because this runs
    on every "next task" request.
    """
    if campaign.status != Campaign.Status.ACTIVE:
        return "inactive", _("This campaign is not open for work.")
    profile = profile or profile_for(user)
    if profile is None:
        return "no_profile", _("Complete your contributor profile first.")
    if profile.status != ContributorProfile.Status.ACTIVE:
        return "suspended", _("Your account is %(status)s: %(reason)s") % {
            "status": profile.get_status_display(),
            "reason": profile.status_reason or "-",
        }
    level = verification_level(user, profile)
    if level < campaign.min_verification_level:
        return "verification", _("This campaign needs verification level %(need)d (you have %(have)d).") % {
            "need": campaign.min_verification_level,
            "have": level,
        }
    if campaign.requires_qualification and not is_qualified(user, campaign.task_type):
        return "qualification", _("Pass the qualification test for this task type first.")
    if campaign.min_trust > 0 and trust_score(user, campaign.task_type) < campaign.min_trust:
        return "trust", _("This campaign is open to contributors with a higher trust score.")
    if campaign.region_quotas:
        if not profile.region:
            return "region", _("Set your home region in your profile to take part in this campaign.")
        if not campaign.region_quotas.get(profile.region, 0):
            return "region", _("This campaign is not collecting answers from your region.")
    return None


def active_campaign(campaign_id: int) -> Campaign | None:
    """The campaign if it is open for work (hand-written SQL: read on every "next task", see core.rawsql)."""
    return fetch_one(Campaign, "t.id = %s AND t.status = %s", [campaign_id, Campaign.Status.ACTIVE])


# What the queue reads of each row on every request: the session check (web.campaigns.fastlane), eligibility
# (contributor_block_reason, verification_level), the lease and its answer. The rest (a campaign's Markdown
# instructions, names, pay, timestamps) stays in the database, deferred as with only(): a campaign's
# instructions alone can be kilobytes. tests/test_fastlane.py checks that a whole next + submit cycle runs its
# four statements and no more, so a field used without being listed here shows up as a failure there.
QUEUE_USER_FIELDS = ("id", "password", "is_active", "username", "email")
QUEUE_PROFILE_FIELDS = ("id", "user_id", "display_name", "birth_year", "region", "province", "consent_version",
                        "consent_at", "identity_verified_at", "status", "status_reason")
QUEUE_CAMPAIGN_FIELDS = ("id", "organization_id", "task_type", "config", "status", "overlap", "max_overlap",
                         "gold_rate", "lease_seconds", "priority", "deadline", "min_trust", "min_verification_level",
                         "requires_qualification", "region_quotas")


def queue_context(user_id: int, campaign_id: int) -> tuple | None:
    """(user, profile with its eligibility flags or None, the campaign if open for work or None) in one statement,
    or None when no such user. The queue's fast lane reads these on every "next task"; as three reads they were
    three round trips to PostgreSQL. The caller still verifies the session against the user (web.campaigns.fastlane)."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    flags = eligibility_flags_sql("p")
    row = fetch_joined(
        [(User, "u", QUEUE_USER_FIELDS), (ContributorProfile, "p", QUEUE_PROFILE_FIELDS),
         (Campaign, "c", QUEUE_CAMPAIGN_FIELDS)],
        f"FROM {User._meta.db_table} u"
        f" LEFT JOIN {ContributorProfile._meta.db_table} p ON p.user_id = u.id"
        f" LEFT JOIN {Campaign._meta.db_table} c ON c.id = %s AND c.status = %s"
        f" WHERE u.id = %s",
        [campaign_id, Campaign.Status.ACTIVE, user_id],
        extra=flags,
    )
    if row is None:
        return None
    user, profile, campaign, *flag_values = row
    if profile is not None:
        set_eligibility_flags(profile, flags, flag_values)
        profile.user = user
    return user, profile, campaign


def region_cap(campaign: Campaign, region: str) -> int:
    """How many answers (live leases + submitted) a region may hold in a quota campaign.

    ceil(share% x the campaign's regular answer target), so rounding never leaves a slot that
    no region may fill; the target grows when consensus asks for more answers on an item.
    """
    share = float(campaign.region_quotas.get(region, 0) or 0)
    target = campaign.items.filter(is_gold=False).aggregate(t=Sum("target_overlap"))["t"] or 0
    return math.ceil(share * target / 100 - 1e-9)


def open_lease_for(user, campaign: Campaign) -> Assignment | None:
    """The contributor's open lease in this campaign, possibly past its expiry (at most one exists)."""
    return (
        Assignment.objects.select_related("item")
        .only("id", "item_id", "campaign_id", "contributor_id", "state", "leased_at", "expires_at", "view",
              "region", "item__id", "item__payload")
        .filter(contributor=user, campaign=campaign, state=Assignment.State.LEASED)
        .first()
    )


def live_assignment_for(user, campaign: Campaign) -> Assignment | None:
    """The contributor's unexpired open lease in this campaign (resumed after a reload)."""
    lease = open_lease_for(user, campaign)
    return lease if lease is not None and lease.expires_at > timezone.now() else None


def active_campaigns_for(user):
    return Campaign.objects.filter(status=Campaign.Status.ACTIVE).select_related("organization")


def campaign_progress(campaign: Campaign) -> dict:
    agg = campaign.items.aggregate(
        items=Count("id"),
        done=Sum("done_count"),
        target=Sum("target_overlap"),
        complete=Count("id", filter=Q(done_count__gte=F("target_overlap"))),
    )
    return {
        "items": agg["items"] or 0,
        "annotations": agg["done"] or 0,
        "target_annotations": agg["target"] or 0,
        "items_complete": agg["complete"] or 0,
    }



def remaining_for(user, campaign: Campaign) -> int:
    """Items left for this contributor in the campaign, counting the one they hold now (the page's quota)."""
    unseen = campaign.items.filter(open_slots__gt=0).exclude(assignments__contributor=user).count()
    held = Assignment.objects.filter(
        contributor=user, campaign=campaign, state=Assignment.State.LEASED, expires_at__gt=timezone.now()
    ).count()
    return unseen + held
