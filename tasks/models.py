"""Campaigns, their items, and the assignments (leases) that hand items to contributors."""
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.jobs import JobStatus
from organizations.models import Organization

from .types import get_task_type


def cost_sql(alias: str) -> str:
    """``Campaign.cost_per_task`` of the ``tasks_campaign`` row named ``alias``, as SQL (integer đồng)."""
    pay = f"CAST({alias}.pay_per_task AS BIGINT)"
    return f"({pay} + {pay} * {alias}.fee_bps / 10000)"


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")
        ARCHIVED = "archived", _("Archived")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("name"), max_length=200)
    task_type = models.CharField(_("task type"), max_length=40)
    config = models.JSONField(_("task configuration"), default=dict, blank=True)
    instructions = models.TextField(_("instructions (Markdown)"), blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    overlap = models.PositiveSmallIntegerField(_("overlap"), default=3, help_text=_("Distinct contributors per item."))
    max_overlap = models.PositiveSmallIntegerField(_("maximum overlap"), default=5)
    gold_rate = models.FloatField(_("gold rate"), default=0.0)
    confidence_threshold = models.FloatField(_("confidence threshold"), default=0.7)
    lease_seconds = models.PositiveIntegerField(_("lease time (s)"), default=600)
    pay_per_task = models.DecimalField(_("pay per task (VND)"), max_digits=12, decimal_places=2, default=Decimal("0"))
    budget = models.DecimalField(_("budget (VND)"), max_digits=14, decimal_places=2, null=True, blank=True)
    # The platform's fee on each accepted answer, in basis points of its pay (payments app, issue 25).
    fee_bps = models.PositiveIntegerField(_("platform fee (basis points)"), default=0)
    # What live leases and unrejected answers hold of ``budget`` (pay + fee each), in VND. Written by the queue's
    # lease statement (guarded: never past ``budget``), its give-backs, and payments' rejections; only when
    # ``budget`` is set. ``manage.py ledger_check`` recounts it.
    budget_used = models.BigIntegerField(_("budget held (VND)"), default=0, editable=False)
    priority = models.IntegerField(_("priority"), default=0)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    min_trust = models.FloatField(_("minimum trust"), default=0.0)
    min_verification_level = models.PositiveSmallIntegerField(_("minimum verification level"), default=2)
    requires_qualification = models.BooleanField(_("requires qualification"), default=False)
    region_quotas = models.JSONField(
        _("region quotas"), default=dict, blank=True, help_text=_('e.g. {"north": 40, "central": 30, "south": 30}')
    )
    # Eligibility and quotas on other profile attributes (tasks/profile_rules.py has the format and its checks);
    # the queue enforces the quotas with the region quotas' tallies (workqueue/README.md, "Quotas").
    profile_rules = models.JSONField(
        _("profile rules"), default=dict, blank=True,
        help_text=_('e.g. {"eligible": {"age_band": ["18-24", "25-34"]}, '
                    '"quotas": {"gender": {"share": {"female": 50, "male": 50}}}}'),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = _("campaigns")
        verbose_name = _("campaign")
        ordering = ["-priority", "id"]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return self.name

    @property
    def cost_per_task(self) -> int:
        """Pay plus the platform's fee for one accepted answer, in whole đồng (``cost_sql`` in SQL)."""
        pay = int(self.pay_per_task or 0)
        return pay + pay * self.fee_bps // 10000

    @property
    def task(self):
        """The task-type module object that defines this campaign's schemas and behaviour."""
        return get_task_type(self.task_type)


class Item(models.Model):
    """One unit of work. Counters on the row let the queue pick with one indexed query."""

    # No index of its own: item_campaign_idx (campaign, id) serves every look-up by campaign.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items", db_index=False)
    external_id = models.CharField(max_length=200, blank=True)
    payload = models.JSONField()
    gold_answer = models.JSONField(null=True, blank=True)
    is_gold = models.BooleanField(default=False)
    priority = models.IntegerField(default=0)
    target_overlap = models.PositiveSmallIntegerField()
    leased_count = models.PositiveIntegerField(default=0)
    done_count = models.PositiveIntegerField(default=0)
    open_slots = models.IntegerField(help_text=_("target_overlap - leased - done; > 0 means the queue serves it"))
    source_contributor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Who made this item's content (e.g. the speaker of a recording); never served to them."),
    )
    # The payload's text in core.vietnamese.search_key form (no diacritics, lower case), written once at
    # creation: the dataset view's search matches "nguyen" to "Nguyễn" with a plain LIKE that a trigram
    # index serves on PostgreSQL (migration 0009), with no per-row function at query time.
    search_text = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = _("items")
        verbose_name = _("item")
        indexes = [
            models.Index(
                fields=["campaign", "is_gold", "-priority", "id"],
                name="item_queue_idx",
                condition=Q(open_slots__gt=0),
            ),
            models.Index(fields=["campaign", "id"], name="item_campaign_idx"),
            # Gold items are served whatever their open slots (each contributor meets each once).
            models.Index(fields=["campaign", "id"], name="item_gold_idx", condition=Q(is_gold=True)),
        ]

    def __str__(self) -> str:
        return f"item {self.pk} of {self.campaign_id}"


class Assignment(models.Model):
    """A lease of one item to one contributor, until it is submitted, skipped or expires."""

    class State(models.TextChoices):
        LEASED = "leased", _("Leased")
        SUBMITTED = "submitted", _("Submitted")
        SKIPPED = "skipped", _("Skipped")
        REPORTED = "reported", _("Reported")
        EXPIRED = "expired", _("Expired")

    # item and contributor have no index of their own: uniq_item_contributor (item, contributor) and the
    # (contributor, campaign, state) index lead with them. Every index is written on each lease and again when
    # its state changes (the update cannot be HOT), so the queue pays for each one twice a cycle.
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments", db_index=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments")
    contributor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments",
                                    db_index=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.LEASED)
    leased_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    view = models.JSONField(default=dict, blank=True, help_text=_("What this contributor was shown, e.g. response order"))
    reason = models.TextField(blank=True, help_text=_("Skip or problem-report reason"))
    # The quota tallies this lease holds a slot of, joined by "|": the region code (region quotas) and
    # "attribute=value" for each profile-attribute quota (tasks/profile_rules.py); "" in campaigns without quotas.
    region = models.CharField(
        max_length=255, blank=True, default="",
        help_text=_("The quota tallies this lease counts toward (region, attribute=value), joined by |"),
    )

    class Meta:
        verbose_name_plural = _("assignments")
        verbose_name = _("assignment")
        constraints = [
            models.UniqueConstraint(fields=["item", "contributor"], name="uniq_item_contributor"),
            # One open lease per contributor per campaign: "next" resumes it instead of hoarding items.
            models.UniqueConstraint(
                fields=["contributor", "campaign"], condition=Q(state="leased"), name="uniq_open_lease"
            ),
        ]
        indexes = [
            models.Index(fields=["contributor", "campaign", "state"]),
            models.Index(fields=["expires_at"], name="assignment_live_lease_idx", condition=Q(state="leased")),
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.state})"


class RegionTally(models.Model):
    """Answers a region (or a profile-attribute value, "gender=female") holds in a campaign with quotas (live
    leases + submitted).

    One row per (campaign, region); the queue takes a slot with a conditional UPDATE that cannot
    pass the region's cap, so concurrent picks never overfill a quota (see docs, "The queue").
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="region_tallies")
    region = models.CharField(max_length=160)  # a region code, or "attribute=value" (tasks/profile_rules.py)
    taken = models.IntegerField(default=0)

    class Meta:
        verbose_name_plural = _("region tallies")
        verbose_name = _("region tally")
        constraints = [models.UniqueConstraint(fields=["campaign", "region"], name="uniq_region_tally")]

    def __str__(self) -> str:
        return f"{self.region}: {self.taken} in {self.campaign_id}"


class PersonalToken(models.Model):
    """A contributor's own key to the task API (next, submit, skip, report) for clients other than the browser.

    Sent as ``Authorization: Bearer <prefix>.<secret>``; only SHA-256 of the secret is stored (as for
    organisation tokens). It acts as its person, never as an organisation.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = _("personal API tokens")
        verbose_name = _("personal API token")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


def import_upload_path(instance, filename: str) -> str:
    return f"imports/{instance.campaign_id}/{timezone.now():%Y%m%d%H%M%S}-{instance.pk or 'new'}.upload"


class ImportJob(models.Model):
    """An item import run by a Celery job: the API and the admin both create one; the report is kept."""

    Status = JobStatus

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(upload_to=import_upload_path, max_length=300)
    original_name = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=10)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    size_bytes = models.BigIntegerField(default=0)
    bytes_read = models.BigIntegerField(default=0)
    lines_read = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = _("import jobs")
        verbose_name = _("import job")

    def __str__(self) -> str:
        return f"import {self.pk} into {self.campaign_id} ({self.status})"
