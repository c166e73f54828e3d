"""Writes for campaigns and the queue: create campaigns, lease items, skip, report, expire.

The queue's pick is one indexed query (see docs/architecture.md, "The queue"): items carry
``open_slots = target_overlap - leased_count - done_count``; a partial index covers rows with
open slots; on PostgreSQL the pick locks its row with ``FOR UPDATE SKIP LOCKED`` so concurrent
contributors never wait on each other nor take the same slot; the unique (item, contributor)
constraint is the last line of defence against a contributor seeing an item twice.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Assignment, Campaign, Item
from .selectors import contributor_block_reason, live_assignment_for
from .types import SchemaError, get_task_type


@dataclass
class NoWork:
    """The queue had nothing for this contributor; ``reason`` says why, for the page and the API."""

    reason: str
    code: str


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
    if campaign.region_quotas:
        quotas = campaign.region_quotas
        if not isinstance(quotas, dict) or not all(isinstance(v, (int, float)) and v >= 0 for v in quotas.values()):
            raise SchemaError("region_quotas", _("Region quotas must map a region to a percentage."))
        if abs(sum(quotas.values()) - 100) > 0.01:
            raise SchemaError("region_quotas", _("Region quotas must add up to 100%."))


def new_item(campaign: Campaign, *, payload: dict, gold_answer=None, external_id: str = "", priority: int = 0) -> Item:
    """An unsaved item with its queue counters initialised (bulk_create-friendly)."""
    return Item(
        campaign=campaign,
        payload=payload,
        gold_answer=gold_answer,
        is_gold=gold_answer is not None,
        external_id=external_id,
        priority=priority,
        target_overlap=campaign.overlap,
        open_slots=campaign.overlap,
    )


def _pick_item(campaign: Campaign, user, *, gold: bool) -> Item | None:
    queryset = (
        Item.objects.filter(campaign=campaign, open_slots__gt=0, is_gold=gold)
        .exclude(assignments__contributor=user)
        .exclude(source_contributor=user)
        .order_by("-priority", "id")
        .only("id", "payload", "target_overlap")
    )
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset.first()


def reclaim_expired_leases(*, campaign_id: int | None = None, limit: int = 500) -> int:
    """Mark leases past their expiry as expired and give their slots back to the items."""
    now = timezone.now()
    expired = Assignment.objects.filter(state=Assignment.State.LEASED, expires_at__lt=now)
    if campaign_id is not None:
        expired = expired.filter(campaign_id=campaign_id)
    ids = list(expired.values_list("id", flat=True)[:limit])
    reclaimed = 0
    for assignment_id in ids:
        with transaction.atomic():
            # The conditional UPDATE makes concurrent sweeps safe: only one of them wins each lease.
            item_ids = list(
                Assignment.objects.filter(pk=assignment_id, state=Assignment.State.LEASED)
                .values_list("item_id", flat=True)
            )
            changed = Assignment.objects.filter(pk=assignment_id, state=Assignment.State.LEASED).update(
                state=Assignment.State.EXPIRED, finished_at=now
            )
            if changed and item_ids:
                Item.objects.filter(pk=item_ids[0]).update(
                    leased_count=F("leased_count") - 1, open_slots=F("open_slots") + 1
                )
                reclaimed += 1
    return reclaimed


def lease_next_item(*, user, campaign: Campaign, rng: random.Random | None = None) -> Assignment | NoWork:
    """Give the contributor their next item in the campaign, or say why there is none."""
    block = contributor_block_reason(user, campaign)
    if block:
        return NoWork(reason=block[1], code=block[0])
    live = live_assignment_for(user, campaign)
    if live is not None:
        return live
    reclaim_expired_leases(campaign_id=campaign.pk, limit=50)
    rng = rng or random.Random()
    want_gold = campaign.gold_rate > 0 and rng.random() < campaign.gold_rate
    task = campaign.task
    for _attempt in range(3):
        try:
            with transaction.atomic():
                item = _pick_item(campaign, user, gold=want_gold) or _pick_item(campaign, user, gold=not want_gold)
                if item is None:
                    return NoWork(reason=_("No more items in this campaign for you right now."), code="empty")
                Item.objects.filter(pk=item.pk).update(
                    leased_count=F("leased_count") + 1, open_slots=F("open_slots") - 1
                )
                now = timezone.now()
                return Assignment.objects.create(
                    item=item,
                    campaign=campaign,
                    contributor=user,
                    leased_at=now,
                    expires_at=now + timedelta(seconds=campaign.lease_seconds),
                    view=task.prepare_view(item_payload=item.payload, config=campaign.config, rng=rng),
                )
        except IntegrityError:
            continue  # the unique (item, contributor) guard fired; pick again
    return NoWork(reason=_("The queue is busy, please try again."), code="busy")


def _release(assignment: Assignment, state: str, reason: str) -> Assignment:
    with transaction.atomic():
        locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if locked.state != Assignment.State.LEASED:
            raise SchemaError("assignment", _("This assignment is no longer open."))
        locked.state = state
        locked.reason = reason[:2000]
        locked.finished_at = timezone.now()
        locked.save(update_fields=["state", "reason", "finished_at"])
        Item.objects.filter(pk=locked.item_id).update(
            leased_count=F("leased_count") - 1, open_slots=F("open_slots") + 1
        )
    return locked


def skip_assignment(*, assignment: Assignment, reason: str = "") -> Assignment:
    """Give the item back to the queue; this contributor will not be offered it again."""
    return _release(assignment, Assignment.State.SKIPPED, reason)


def report_problem(*, assignment: Assignment, reason: str) -> Assignment:
    if not reason.strip():
        raise SchemaError("reason", _("Please describe the problem."))
    return _release(assignment, Assignment.State.REPORTED, reason)


def request_more_answers(*, item_id: int, up_to: int) -> bool:
    """Dynamic overlap: raise an item's target by one (never past ``up_to``) so the queue serves it again."""
    changed = Item.objects.filter(pk=item_id, target_overlap__lt=up_to).update(
        target_overlap=F("target_overlap") + 1, open_slots=F("open_slots") + 1
    )
    return bool(changed)


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


def update_campaign_config(*, campaign: Campaign, config: dict) -> dict:
    """Validate a new task configuration; refused when it changes the labels of a campaign with answers.

    "The labels" = whatever shapes an answer: if the annotation schema would change while answers
    exist, those answers would no longer fit it, so the change is refused with an explanation.
    """
    task = campaign.task
    cleaned = task.validate_config(config)
    if campaign.pk and cleaned != campaign.config:
        from annotations.models import Annotation

        old_schema = task.annotation_schema(task.validate_config(campaign.config))
        if task.annotation_schema(cleaned) != old_schema and Annotation.objects.filter(campaign=campaign).exists():
            raise SchemaError(
                "config",
                _("Contributors have already answered with the current labels; changing the labels (or "
                  "anything else that changes what an answer may contain) would make their answers invalid. "
                  "Copy the campaign to start over with new labels, or only change display texts."),
            )
    return cleaned
