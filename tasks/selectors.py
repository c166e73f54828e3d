"""Reads for campaigns and the queue."""
from __future__ import annotations

from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from contributors.models import ContributorProfile
from contributors.selectors import profile_for, verification_level

from .models import Assignment, Campaign


def contributor_block_reason(user, campaign: Campaign) -> tuple[str, str] | None:
    """Why this user may not take work in this campaign now, as (code, message), or None."""
    if campaign.status != Campaign.Status.ACTIVE:
        return "inactive", _("This campaign is not open for work.")
    profile = profile_for(user)
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
    return None


def live_assignment_for(user, campaign: Campaign) -> Assignment | None:
    """The contributor's unexpired open lease in this campaign (resumed after a reload)."""
    return (
        Assignment.objects.select_related("item")
        .filter(contributor=user, campaign=campaign, state=Assignment.State.LEASED, expires_at__gt=timezone.now())
        .order_by("-leased_at")
        .first()
    )


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

