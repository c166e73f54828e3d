"""Writes for campaigns and the queue: create campaigns, lease items, skip, report, expire.

The queue's pick is one indexed query (see docs/architecture.md, "The queue"): items carry
``open_slots = target_overlap - leased_count - done_count``; a partial index covers rows with
open slots; on PostgreSQL the pick locks its row with ``FOR UPDATE SKIP LOCKED`` so concurrent
contributors never wait on each other nor take the same slot; the unique (item, contributor)
constraint is the last line of defence against a contributor seeing an item twice.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import DEFAULT_DB_ALIAS, IntegrityError, OperationalError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from config.rawsql import fetch_prepared, jsonb
from contributors.selectors import profile_with_flags

from .models import Assignment, Campaign, Item, PersonalToken, RegionTally
from .selectors import contributor_block_reason, open_lease_for, region_cap
from .types import SchemaError, get_task_type
from .types.base import TaskType


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
    if campaign.deadline is not None and not 2000 <= campaign.deadline.year <= 2100:
        raise SchemaError("deadline", _("The deadline must be a date between 2000 and 2100."))
    if campaign.region_quotas is None:
        raise SchemaError("region_quotas", _("Region quotas must be an object (use {} for none)."))
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


# --- the pick ------------------------------------------------------------------------------
# One statement on PostgreSQL: return the contributor's open lease in the campaign if there is one;
# otherwise choose the best open item they have never had, lock it (skipping rows others hold),
# take a slot and insert the lease. In autocommit mode that is one round trip; a unique violation
# (two tabs racing) rolls the whole statement back, so counters never drift.
_PICK_SQL = """
WITH open_lease AS (
    SELECT a.id, a.item_id, a.leased_at, a.expires_at, a.view, a.region FROM tasks_assignment a
    WHERE a.contributor_id = %(user)s AND a.campaign_id = %(campaign)s AND a.state = 'leased'
), picked AS (
    SELECT i.id FROM tasks_item i
    WHERE NOT EXISTS (SELECT 1 FROM open_lease)
      AND i.campaign_id = %(campaign)s AND i.is_gold = %(gold)s {slots}
      AND (i.source_contributor_id IS NULL OR i.source_contributor_id <> %(user)s)
      AND NOT EXISTS (SELECT 1 FROM tasks_assignment a WHERE a.item_id = i.id AND a.contributor_id = %(user)s)
    ORDER BY {order}
    LIMIT 1
    FOR UPDATE OF i SKIP LOCKED
), leased AS (
    UPDATE tasks_item i SET leased_count = i.leased_count + 1, open_slots = i.open_slots - 1
    FROM picked WHERE i.id = picked.id
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
FROM open_lease o JOIN tasks_item i ON i.id = o.item_id
"""
# Regular items: open slots only, campaign's order (priority, then oldest), from item_queue_idx.
# Gold items: every contributor may meet each gold item once, in random order so no gold item is
# recognisable by its position; their counters move like any item's but never gate the pick.
_PICK_REGULAR = _PICK_SQL.format(slots="AND i.open_slots > 0", order="i.priority DESC, i.id")
_PICK_GOLD = _PICK_SQL.format(slots="", order="random()")


def _lease_postgres(campaign: Campaign, user, *, gold: bool, region: str, now, expires) -> tuple | None:
    params = {
        "campaign": campaign.pk, "user": user.pk, "gold": gold, "region": region, "now": now, "expires": expires,
    }
    row = fetch_prepared(_PICK_GOLD if gold else _PICK_REGULAR, params)
    if row is None:
        return None
    return (*row[:2], jsonb(row[2]), row[3], row[4], jsonb(row[5]), *row[6:])


def _lease_portable(campaign: Campaign, user, *, gold: bool, region: str, now, expires) -> tuple | None:
    """The same steps through the ORM for SQLite (the embedded demo), where writers are serialised."""
    lease = open_lease_for(user, campaign)
    if lease is not None:
        return lease.pk, lease.item_id, lease.item.payload, lease.leased_at, lease.expires_at, lease.view, lease.region, False
    queryset = Item.objects.filter(campaign=campaign, is_gold=gold).exclude(assignments__contributor=user)
    queryset = queryset.exclude(source_contributor=user)
    if gold:
        queryset = queryset.order_by("?")
    else:
        queryset = queryset.filter(open_slots__gt=0).order_by("-priority", "id")
    item = queryset.only("id", "payload").first()
    if item is None:
        return None
    Item.objects.filter(pk=item.pk).update(leased_count=F("leased_count") + 1, open_slots=F("open_slots") - 1)
    assignment = Assignment.objects.create(
        item_id=item.pk, campaign=campaign, contributor=user, leased_at=now, expires_at=expires, region=region
    )
    return assignment.pk, item.pk, item.payload, now, expires, {}, region, True


def _lease(campaign: Campaign, user, *, gold: bool, region: str, rng: random.Random) -> Assignment | None:
    """The contributor's open lease (``resumed`` True, possibly run out), or a new lease, or None.

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
            if row is not None and row[7] and custom_view:
                view = task.prepare_view(item_payload=row[2], config=campaign.config, rng=rng)
                Assignment.objects.filter(pk=row[0]).update(view=view)
                row = (*row[:5], view, *row[6:])
    else:
        row = lease(campaign, user, gold=gold, region=region, now=now, expires=expires)
    if row is None:
        return None
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


def _take_region_slot(campaign: Campaign, region: str) -> bool:
    """Atomically take one answer slot of the region's quota; False when the quota is full."""
    cap = region_cap(campaign, region)
    for _attempt in range(2):
        if RegionTally.objects.filter(campaign=campaign, region=region, taken__lt=cap).update(taken=F("taken") + 1):
            return True
        if RegionTally.objects.filter(campaign=campaign, region=region).exists():
            return False
        RegionTally.objects.bulk_create([RegionTally(campaign=campaign, region=region)], ignore_conflicts=True)
    return False


def _give_back(item_id: int, campaign_id: int, region: str) -> None:
    """Return a lease's slot to its item (and its region's quota)."""
    Item.objects.filter(pk=item_id).update(leased_count=F("leased_count") - 1, open_slots=F("open_slots") + 1)
    if region:
        RegionTally.objects.filter(campaign_id=campaign_id, region=region).update(taken=F("taken") - 1)


_RECLAIM_SQL = """
WITH expired AS (
    UPDATE tasks_assignment SET state = 'expired', finished_at = %(now)s
    WHERE state = 'leased' AND id IN (
        SELECT id FROM tasks_assignment
        WHERE state = 'leased' AND expires_at < %(now)s {filter}
        ORDER BY expires_at LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED)
    RETURNING item_id, campaign_id, region
), items AS (
    UPDATE tasks_item i SET leased_count = i.leased_count - e.n, open_slots = i.open_slots + e.n
    FROM (SELECT item_id, count(*) AS n FROM expired GROUP BY item_id) e WHERE i.id = e.item_id
), tallies AS (
    UPDATE tasks_regiontally t SET taken = t.taken - e.n
    FROM (SELECT campaign_id, region, count(*) AS n FROM expired WHERE region <> '' GROUP BY 1, 2) e
    WHERE t.campaign_id = e.campaign_id AND t.region = e.region
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
    if connection.vendor == "postgresql":
        where = ("AND campaign_id = %(campaign)s " if campaign_id else "") + (
            "AND id = %(assignment)s" if assignment_id else ""
        )
        params = {"now": now, "limit": limit, "campaign": campaign_id, "assignment": assignment_id}
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_RECLAIM_SQL.format(filter=where), params)
                return cursor.fetchone()[0]
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
                _give_back(item_id, lease_campaign_id, region)
                reclaimed += 1
    return reclaimed


def _region_full(campaign: Campaign, region: str) -> bool:
    taken = RegionTally.objects.filter(campaign=campaign, region=region).values_list("taken", flat=True).first()
    return (taken or 0) >= region_cap(campaign, region)


_NOT_READ = object()


def lease_next_item(
    *, user, campaign: Campaign, rng: random.Random | None = None, profile=_NOT_READ
) -> Assignment | NoWork:
    """Give the contributor their next item in the campaign, or say why there is none.

    Order: eligibility; the contributor's open lease (resumed; expired first if it ran out); the
    region quota; gold at the campaign's rate; regular work. When nothing is open, expired leases
    of the campaign are reclaimed and the pick is tried once more.
    """
    if profile is _NOT_READ:  # a caller that read it already (tasks.selectors.queue_context) passes it, even None
        profile = profile_with_flags(user)
    block = contributor_block_reason(user, campaign, profile=profile)
    if block:
        return NoWork(reason=block[1], code=block[0])
    rng = rng or random.Random()
    region = profile.region if campaign.region_quotas else ""
    for _attempt in range(3):
        if region:
            # The quota slot is taken before the pick, so look for an open lease first here.
            lease = open_lease_for(user, campaign)
            if lease is not None and lease.expires_at > timezone.now():
                lease.campaign = campaign
                return lease
            if lease is not None:
                reclaim_expired_leases(assignment_id=lease.pk)
            if _region_full(campaign, region):
                return NoWork(
                    reason=_("This campaign has all the answers it needs from your region."), code="quota_full"
                )
        try:
            outcome = _pick_and_lease(campaign, user, region=region, rng=rng)
        except IntegrityError:
            continue  # a parallel request of the same contributor won: resume its lease
        if isinstance(outcome, Assignment) and outcome.expires_at <= timezone.now():
            reclaim_expired_leases(assignment_id=outcome.pk)  # their own lease ran out: free it, pick anew
            continue
        return outcome
    return NoWork(reason=_("The queue is busy, please try again."), code="busy")


def _pick_and_lease(campaign: Campaign, user, *, region: str, rng: random.Random) -> Assignment | NoWork:
    if campaign.gold_rate > 0 and rng.random() < campaign.gold_rate:
        assignment = _lease(campaign, user, gold=True, region="", rng=rng)
        if assignment is not None:
            return assignment
    for _round in range(2):
        if region:
            with transaction.atomic():
                if not _take_region_slot(campaign, region):
                    return NoWork(
                        reason=_("This campaign has all the answers it needs from your region."), code="quota_full"
                    )
                assignment = _lease(campaign, user, gold=False, region=region, rng=rng)
                if assignment is None or assignment.resumed:
                    transaction.set_rollback(True)  # no new lease: give the quota slot back
        else:
            assignment = _lease(campaign, user, gold=False, region="", rng=rng)
        if assignment is not None:
            return assignment
        if not reclaim_expired_leases(campaign_id=campaign.pk, limit=500):
            break
    return NoWork(reason=_("No more items in this campaign for you right now."), code="empty")


def _release(assignment: Assignment, state: str, reason: str) -> Assignment:
    with transaction.atomic():
        locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if locked.state != Assignment.State.LEASED:
            raise SchemaError("assignment", _("This assignment is no longer open."))
        locked.state = state
        locked.reason = reason[:2000]
        locked.finished_at = timezone.now()
        locked.save(update_fields=["state", "reason", "finished_at"])
        _give_back(locked.item_id, locked.campaign_id, locked.region)
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


# --- personal tokens (the task API for clients other than the browser) ----------------------------

MAX_PERSONAL_TOKENS = 10


def create_personal_token(*, user, name: str) -> tuple[PersonalToken, str]:
    """A new personal token; returns it and the plain key, which is shown once and never stored."""
    from organizations.services import hash_token_secret

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


def delete_draft_campaign(*, campaign: Campaign) -> str:
    """Delete a draft campaign without answers; returns "" when deleted, else why not (for a 409).

    The row is locked first, so a re-score job's writes (which hold it with FOR NO KEY UPDATE,
    annotations.services.hold_campaign) finish before the delete's cascade or see the campaign gone;
    a queued or running (not stale) re-score refuses the delete.
    """
    from django.conf import settings

    from annotations.models import ConsensusJob

    with transaction.atomic():
        locked = Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        if locked is None:
            raise Campaign.DoesNotExist(f"Campaign {campaign.pk} was deleted.")
        if locked.status != Campaign.Status.DRAFT or locked.annotations.exists():
            return _("Only a draft campaign without answers can be deleted; archive it instead "
                     "(PATCH status=archived).")
        fresh = timezone.now() - timedelta(seconds=settings.CONSENSUS_JOB_STALE_SECONDS)
        if ConsensusJob.objects.filter(campaign=locked, created_at__gte=fresh,
                                       status__in=[ConsensusJob.Status.QUEUED, ConsensusJob.Status.RUNNING]).exists():
            return _("A re-score of this campaign is queued or running; delete it when the job has finished.")
        locked.delete()
    return ""
