"""Reads of the queue: who may work where, the contributor's lease, what is left, and the joined reads of the
fast lane (one statement each; core.rawsql)."""
from __future__ import annotations

import math

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from contributors.models import ContributorProfile, Qualification
from contributors.selectors import is_qualified, profile_for, trust_score, verification_level
from core.rawsql import fetch_joined
from tasks import profile_rules
from tasks.models import Assignment, Campaign, RegionTally

from .eligibility import candidates

# --- eligibility of the contributor (who may work in a campaign) ------------------------------------------

def eligibility_flags_sql(profile_alias: str) -> dict[str, str]:
    """The two facts ``verification_level`` needs beside the profile, as SQL over a profile row named
    ``profile_alias``: attributes ``_email_verified`` and ``_qualified`` (see ``profile_with_flags``)."""
    return {
        "_email_verified": f"EXISTS (SELECT 1 FROM {EmailAddress._meta.db_table} e"
                           f" WHERE e.user_id = {profile_alias}.user_id AND e.verified)",
        "_qualified": f"EXISTS (SELECT 1 FROM {Qualification._meta.db_table} q WHERE q.profile_id = {profile_alias}.id)",
    }


def set_eligibility_flags(profile, flags: dict[str, str], values) -> None:
    """Put the values of ``eligibility_flags_sql``'s expressions on the profile, as booleans (SQLite answers
    EXISTS with 0 or 1)."""
    for name, value in zip(flags, values, strict=True):
        setattr(profile, name, bool(value))


def profile_with_flags(user) -> ContributorProfile | None:
    """The profile plus the two facts ``verification_level`` needs, in one query (the queue asks on every lease).

    Hand-written SQL (core.rawsql): the ORM spent more CPU compiling the two EXISTS than PostgreSQL running them.
    """
    if not getattr(user, "is_authenticated", False) or not getattr(user, "pk", None):
        return None
    flags = eligibility_flags_sql("t")
    row = fetch_joined([(ContributorProfile, "t")], f"FROM {ContributorProfile._meta.db_table} t WHERE t.user_id = %s",
                       [user.pk], extra=flags)
    if row is None:
        return None
    profile, *values = row
    set_eligibility_flags(profile, flags, values)
    profile.user = user
    return profile


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
    if campaign.profile_rules:
        refusal = profile_rules.refusal(profile, campaign.profile_rules)
        if refusal:
            return "profile", refusal
    return None


def active_campaigns_for(user):
    return Campaign.objects.filter(status=Campaign.Status.ACTIVE).select_related("organization")


# --- the fast lane's joined reads -------------------------------------------------------------------------

# What the queue reads of each row on every request: the session check (web.campaigns.fastlane), eligibility
# (contributor_block_reason, verification_level), the lease and its answer. The rest (a campaign's Markdown
# instructions, names, pay, timestamps) stays in the database, deferred as with only(): a campaign's
# instructions alone can be kilobytes. tests/test_fastlane.py checks that a whole next + submit cycle runs its
# four statements and no more, so a field used without being listed here shows up as a failure there.
QUEUE_USER_FIELDS = ("id", "password", "is_active", "username", "email")
QUEUE_PROFILE_FIELDS = ("id", "user_id", "display_name", "birth_year", "gender", "region", "province", "dialect",
                        "languages", "device_type", "consent_version", "consent_at", "identity_verified_at", "status",
                        "status_reason")
QUEUE_CAMPAIGN_FIELDS = ("id", "organization_id", "task_type", "config", "status", "overlap", "max_overlap",
                         "gold_rate", "lease_seconds", "priority", "deadline", "min_trust", "min_verification_level",
                         "requires_qualification", "region_quotas", "profile_rules", "budget")


def queue_context(user_id: int, campaign_id: int) -> tuple | None:
    """(user, profile with its eligibility flags or None, the campaign if open for work or None) in one statement,
    or None when no such user. The queue's fast lane reads these on every "next task"; as three reads they were
    three round trips to PostgreSQL. The caller still verifies the session against the user (web.campaigns.fastlane)."""
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


# What the common submission reads of its lease, item and campaign (submit.py; ``submit_context`` reads the
# same columns together with the session's user).
LEASE_COLUMNS = {
    "lease_state": "a.state", "lease_view": "a.view", "lease_item_id": "i.id", "lease_item_payload": "i.payload",
    "lease_item_is_gold": "i.is_gold", "lease_campaign_id": "c.id", "lease_task_type": "c.task_type",
    "lease_config": "c.config",
}
LEASE_JOINS = "tasks_assignment a JOIN tasks_item i ON i.id = a.item_id JOIN tasks_campaign c ON c.id = a.campaign_id"


def submit_context(user_id: int, assignment_id: int) -> tuple | None:
    """(user, the lease row ``submit_annotation`` reads, or None when the assignment is not this user's) in one
    statement; None when no such user. The queue's fast lane reads both on every submission: as two reads they
    were two round trips to PostgreSQL. The caller still verifies the session against the user (web.campaigns.fastlane).
    """
    User = get_user_model()
    row = fetch_joined(
        [(User, "u", QUEUE_USER_FIELDS)],
        f"FROM {User._meta.db_table} u LEFT JOIN ({LEASE_JOINS}) ON a.id = %s AND a.contributor_id = u.id"
        f" WHERE u.id = %s",
        [assignment_id, user_id],
        extra=LEASE_COLUMNS,
    )
    if row is None:
        return None
    user, *lease = row
    return user, (tuple(lease) if lease[0] is not None else None)


# --- leases and what is left --------------------------------------------------------------------------------

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


def remaining_for(user, campaign: Campaign) -> int:
    """Regular items left for this contributor in the campaign, counting the one they hold now (the page's quota):
    the items the pick's own predicate admits (eligibility.candidates) plus their live lease."""
    unseen = candidates(campaign_id=campaign.pk, user_id=user.pk).count()
    held = Assignment.objects.filter(
        contributor=user, campaign=campaign, state=Assignment.State.LEASED, expires_at__gt=timezone.now()
    ).count()
    return unseen + held


# --- quotas: one tally per region or profile-attribute value ------------------------------------------------

def quota_keys(campaign: Campaign, profile) -> list[str]:
    """The tallies a regular lease of this contributor takes a slot of: their region in a region-quota campaign,
    then "attribute=value" per profile-attribute quota (tasks/profile_rules.py), in a fixed order. Empty in a
    campaign without quotas (the pick then runs its plain statement)."""
    keys = [profile.region] if campaign.region_quotas else []
    if campaign.profile_rules and campaign.profile_rules.get("quotas"):
        keys += profile_rules.tally_keys(profile, campaign.profile_rules)
    return keys


def regular_target(campaign: Campaign) -> int:
    """The campaign's regular answer target (grows when consensus asks for more answers on an item)."""
    return campaign.items.filter(is_gold=False).aggregate(t=Sum("target_overlap"))["t"] or 0


def quota_cap(campaign: Campaign, key: str, target: int | None = None) -> int:
    """How many answers (live leases + submitted) a tally may hold: a region's share, or a profile-attribute
    value's share or count (``profile_rules.key_cap``)."""
    target = regular_target(campaign) if target is None else target
    if "=" in key:
        return profile_rules.key_cap(campaign.profile_rules, key, target)
    return region_cap(campaign, key, target)


def region_cap(campaign: Campaign, region: str, target: int | None = None) -> int:
    """How many answers (live leases + submitted) a region may hold in a quota campaign.

    ceil(share% x the campaign's regular answer target), so rounding never leaves a slot that
    no region may fill; the target grows when consensus asks for more answers on an item.
    """
    share = float(campaign.region_quotas.get(region, 0) or 0)
    target = regular_target(campaign) if target is None else target
    return math.ceil(share * target / 100 - 1e-9)


def full_quota(campaign: Campaign, keys: list[str]) -> str | None:
    """The first of ``keys`` whose tally is at its cap, or None (a cheap look before taking slots)."""
    taken = dict(RegionTally.objects.filter(campaign=campaign, region__in=keys).values_list("region", "taken"))
    target = regular_target(campaign)
    return next((key for key in keys if taken.get(key, 0) >= quota_cap(campaign, key, target)), None)


def quota_full_reason(key: str) -> str:
    """What the contributor is told when the tally ``key`` is full."""
    if "=" not in key:
        return _("This campaign has all the answers it needs from your region.")
    return _("This campaign has all the answers it needs from contributors with your %(attribute)s.") % {
        "attribute": profile_rules.quota_label(key)}

