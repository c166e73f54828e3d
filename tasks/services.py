"""Writes for campaigns and items: create, validate, move along their lifecycle; personal tokens.

The queue (leases, answers, releases, expiry and the item counters they move) is the workqueue app's.
"""
from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.schema import SchemaError
from core.vietnamese import searchable_text
from organizations.services import hash_token_secret

from . import profile_rules
from .models import Assignment, Campaign, Item, PersonalToken
from .types import get_task_type


def create_campaign(*, organization, name: str, task_type: str, config: dict | None = None, created_by=None, **fields) -> Campaign:
    task = get_task_type(task_type)
    campaign = Campaign(
        organization=organization,
        name=name,
        task_type=task_type,
        config=task.validate_config(config or {}),
        created_by=created_by,
        **fields,
    )
    validate_campaign_settings(campaign)
    campaign.save()
    return campaign


def validate_campaign_settings(campaign: Campaign) -> None:
    """Guards shared by the admin form, the API and the demo loader."""
    if campaign.overlap < 1:
        raise SchemaError("overlap", _("Overlap must be at least 1."))
    if campaign.max_overlap < campaign.overlap:
        raise SchemaError("max_overlap", _("Maximum overlap must be at least the overlap."))
    if not 0 <= campaign.gold_rate <= 1:
        raise SchemaError("gold_rate", _("Gold rate must be between 0 and 1."))
    if not 0 <= campaign.confidence_threshold <= 1:
        raise SchemaError("confidence_threshold", _("Confidence threshold must be between 0 and 1."))
    if campaign.deadline is not None and not 2000 <= campaign.deadline.year <= 2100:
        raise SchemaError("deadline", _("The deadline must be a date between 2000 and 2100."))
    for name in ("pay_per_task", "budget"):  # đồng has no minor unit
        value = getattr(campaign, name)
        if value is None:
            continue
        try:  # forms and the API may hand a string ("1500") or a Decimal
            number = Decimal(str(value))
        except InvalidOperation:
            number = Decimal(-1)
        if not number.is_finite() or number < 0 or number != number.to_integral_value():
            raise SchemaError(name, _("Enter a whole, non-negative number of đồng."))
        setattr(campaign, name, int(number))
    if campaign.fee_bps > 10000:
        raise SchemaError("fee_bps", _("The fee is at most 10000 basis points (100%)."))
    if campaign.budget is not None and campaign.pk and campaign.budget < campaign.budget_used:
        raise SchemaError("budget", _("The budget cannot be lowered below what is already committed (%(used)s đồng).")
                          % {"used": campaign.budget_used})
    if campaign.region_quotas is None:
        raise SchemaError("region_quotas", _("Region quotas must be an object (use {} for none)."))
    if campaign.region_quotas:
        quotas = campaign.region_quotas
        if not isinstance(quotas, dict) or not all(isinstance(v, (int, float)) and v >= 0 for v in quotas.values()):
            raise SchemaError("region_quotas", _("Region quotas must map a region to a percentage."))
        if abs(sum(quotas.values()) - 100) > 0.01:
            raise SchemaError("region_quotas", _("Region quotas must add up to 100%."))
    campaign.profile_rules = profile_rules.validate(campaign.profile_rules)


def new_item(campaign: Campaign, *, payload: dict, gold_answer=None, external_id: str = "", priority: int = 0) -> Item:
    """An unsaved item with its queue counters initialised (bulk_create-friendly): no lease, no answer yet, every
    slot open. From here on only workqueue.counters writes them."""
    return Item(
        campaign=campaign,
        payload=payload,
        gold_answer=gold_answer,
        is_gold=gold_answer is not None,
        external_id=external_id,
        priority=priority,
        target_overlap=campaign.overlap,
        open_slots=campaign.overlap,
        search_text=searchable_text([external_id, payload]),
    )



def set_item_priorities(*, campaign_id: int, priorities: dict[int, int]) -> int:
    """Set items' queue priority (the pick serves higher first: workqueue/lease.py), e.g. from a model's
    uncertainty (assist.services.rerank). Items of another campaign are left alone. Returns rows changed."""
    if not priorities:
        return 0
    items = [Item(pk=item_id, priority=int(value)) for item_id, value in priorities.items()]
    mine = set(Item.objects.filter(campaign_id=campaign_id, pk__in=list(priorities)).values_list("id", flat=True))
    return Item.objects.bulk_update([it for it in items if it.pk in mine], ["priority"], batch_size=1000)

# --- Campaign lifecycle (admin console and API) -------------------------------------------------

CAMPAIGN_TRANSITIONS: dict[str, tuple[str, ...]] = {
    Campaign.Status.DRAFT: (Campaign.Status.ACTIVE, Campaign.Status.ARCHIVED),
    Campaign.Status.ACTIVE: (Campaign.Status.PAUSED, Campaign.Status.COMPLETED),
    Campaign.Status.PAUSED: (Campaign.Status.ACTIVE, Campaign.Status.COMPLETED, Campaign.Status.ARCHIVED),
    Campaign.Status.COMPLETED: (Campaign.Status.ACTIVE, Campaign.Status.ARCHIVED),
    Campaign.Status.ARCHIVED: (),
}


def campaign_activation_problems(campaign: Campaign) -> list[str]:
    """Why a campaign cannot go live yet (empty list: it can)."""
    problems = []
    items = Item.objects.filter(campaign=campaign)
    if not items.filter(is_gold=False).exists():
        problems.append(_("The campaign has no items to label: import items first."))
    if campaign.gold_rate > 0 and not items.filter(is_gold=True).exists():
        problems.append(
            _("The gold rate is %(rate)s but the campaign has no gold items: import items with a gold_answer "
              "or set the gold rate to 0.") % {"rate": campaign.gold_rate}
        )
    if campaign.deadline and campaign.deadline <= timezone.now():
        problems.append(_("The deadline is in the past."))
    try:
        campaign.task.validate_config(campaign.config)
        validate_campaign_settings(campaign)
    except SchemaError as exc:
        problems.append(f"{exc.field}: {exc.message}" if exc.field else exc.message)
    return problems


def transition_campaign(*, campaign: Campaign, to: str) -> Campaign:
    """Move a campaign along draft → active ⇄ paused → completed → archived, refusing unsafe moves."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        allowed = CAMPAIGN_TRANSITIONS.get(locked.status, ())
        if to not in allowed:
            raise SchemaError(
                "status",
                _("A %(current)s campaign cannot become %(target)s.")
                % {"current": locked.get_status_display(), "target": Campaign.Status(to).label if to in
                   Campaign.Status.values else to},
            )
        if to == Campaign.Status.ACTIVE:
            problems = campaign_activation_problems(locked)
            if problems:
                raise SchemaError("status", " ".join(str(p) for p in problems))
        locked.status = to
        locked.save(update_fields=["status", "updated_at"])
    campaign.status = to
    return campaign


def answered(campaign: Campaign) -> bool:
    """Whether any contributor answered in the campaign (an answer closes its assignment as submitted)."""
    return Assignment.objects.filter(campaign=campaign, state=Assignment.State.SUBMITTED).exists()


def update_campaign_config(*, campaign: Campaign, config: dict) -> dict:
    """Validate a new task configuration; refused when it changes the labels of a campaign with answers.

    "The labels" = whatever shapes an answer: if the annotation schema would change while answers
    exist, those answers would no longer fit it, so the change is refused with an explanation.
    """
    task = campaign.task
    cleaned = task.validate_config(config)
    if campaign.pk and cleaned != campaign.config:
        old_schema = task.annotation_schema(task.validate_config(campaign.config))
        if task.annotation_schema(cleaned) != old_schema and answered(campaign):
            raise SchemaError(
                "config",
                _("Contributors have already answered with the current labels; changing the labels (or "
                  "anything else that changes what an answer may contain) would make their answers invalid. "
                  "Copy the campaign to start over with new labels, or only change display texts."),
            )
    return cleaned


# --- personal tokens (the task API for clients other than the browser) ----------------------------

MAX_PERSONAL_TOKENS = 10


def create_personal_token(*, user, name: str) -> tuple[PersonalToken, str]:
    """A new personal token; returns it and the plain key, which is shown once and never stored."""
    name = (name or "").strip()[:100]
    if not name:
        raise SchemaError("name", _("Give the token a name, e.g. the device it is for."))
    if PersonalToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_PERSONAL_TOKENS:
        raise SchemaError("name", _("You have too many active tokens; revoke one first."))
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = PersonalToken.objects.create(user=user, name=name, prefix=prefix, key_hash=hash_token_secret(secret))
    return token, f"{prefix}.{secret}"


def revoke_personal_token(*, token: PersonalToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
