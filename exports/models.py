"""Dataset exports (files built by the export worker) and organisation webhooks."""
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.jobs import JobStatus
from organizations.models import ApiToken, Organization
from tasks.models import Campaign


class Export(models.Model):
    """One export run: its request (format, layout, filters, split) and the file it produced."""

    class Format(models.TextChoices):
        JSONL = "jsonl", "JSON Lines"
        PARQUET = "parquet", "Parquet"
        CSV = "csv", "CSV"

    Status = JobStatus

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="exports")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="exports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Row formats (Format) or a layout's file-tree format (exports.layouts.Tree: coco, yolo-segment, voc...).
    format = models.CharField(max_length=16, choices=Format.choices, default=Format.JSONL)
    layout = models.CharField(max_length=20, default="raw")
    filters = models.JSONField(default=dict, blank=True, help_text=_("finalised_only, min_agreement, since"))
    split = models.JSONField(default=dict, blank=True, help_text=_("ratios, by (item/speaker), seed"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    rows_written = models.BigIntegerField(default=0)
    rows_expected = models.BigIntegerField(default=0)
    path = models.CharField(max_length=300, blank=True, help_text=_("Relative to EXPORT_ROOT"))
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    files = models.JSONField(default=list, blank=True, help_text=_("Files in the archive: name, rows, sha256"))
    stats = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = _("exports")
        verbose_name = _("export")
        ordering = ["-id"]
        indexes = [models.Index(fields=["organization", "campaign", "id"], name="export_org_campaign_idx")]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.campaign_id} ({self.layout}/{self.format}, {self.status})"

    @property
    def download_name(self) -> str:
        return f"campaign-{self.campaign_id}-{self.layout}-{self.format}-export-{self.pk}.zip"


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class Webhook(models.Model):
    """A URL an organisation wants called (HMAC-signed) when a campaign completes or an export is ready."""

    class Event(models.TextChoices):
        CAMPAIGN_COMPLETED = "campaign.completed", _("Campaign completed")
        CAMPAIGN_PROGRESS = "campaign.progress", _("Campaign progress milestone (25/50/75/100 % finalised)")
        ITEM_FINALISED = "item.finalised", _("Item finalised")
        EXPORT_READY = "export.ready", _("Export ready")
        VERSION_PUBLISHED = "version.published", _("Dataset version published")
        AUTHENTICITY_FLAG_RAISED = "authenticity.flag_raised", _("Authenticity flag raised")
        AUTHENTICITY_FLAG_RESOLVED = "authenticity.flag_resolved", _("Authenticity flag resolved")
        BUDGET_EXHAUSTED = "budget.exhausted", _("Campaign budget exhausted")
        TEST = "test", _("Test event (sent from the admin)")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text=_("Event names; empty means all events"))
    secret = models.CharField(max_length=64, default=new_webhook_secret, editable=False)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = _("webhooks")
        verbose_name = _("webhook")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event: str) -> bool:
        return self.is_active and (not self.events or event in self.events)


class WebhookDelivery(models.Model):
    """One event sent to one webhook; retried with back-off until delivered or out of attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    object_id = models.BigIntegerField(help_text=_("The campaign or export the event is about"))
    key = models.CharField(max_length=40, blank=True, default="",
                           help_text=_("Tells apart repeatable events of one object, e.g. a progress milestone"))
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            # An event is sent once per webhook, however many times the trigger fires.
            models.UniqueConstraint(fields=["webhook", "event", "object_id", "key"], name="uniq_webhook_event_object_key")
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.object_id} → {self.webhook_id} ({self.status})"


class DatasetVersion(models.Model):
    """A frozen export: a named, immutable version (v1, v2…) of a campaign's dataset.

    The archive is copied out of the export's file into its own read-only file, so the version downloads
    byte-identical for as long as it exists, whatever happens to exports. ``changelog`` compares it with
    the campaign's previous version; ``manifest_path`` holds one digest per item (the diff's input).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="dataset_versions")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="dataset_versions")
    export = models.ForeignKey(Export, null=True, blank=True, on_delete=models.SET_NULL, related_name="versions")
    number = models.PositiveIntegerField()
    notes = models.TextField(blank=True)
    layout = models.CharField(max_length=20)
    format = models.CharField(max_length=10, choices=Export.Format.choices)
    filters = models.JSONField(default=dict, blank=True)
    split = models.JSONField(default=dict, blank=True)
    path = models.CharField(max_length=300, help_text=_("Relative to EXPORT_ROOT"))
    manifest_path = models.CharField(max_length=300, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    files = models.JSONField(default=list, blank=True)
    rows = models.BigIntegerField(default=0)
    card = models.TextField(blank=True)
    changelog = models.JSONField(default=dict, blank=True)
    published = models.JSONField(default=list, blank=True, help_text=_("Where it was published: target, location, at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("dataset version")
        verbose_name_plural = _("dataset versions")
        ordering = ["campaign_id", "number"]
        constraints = [models.UniqueConstraint(fields=["campaign", "number"], name="uniq_campaign_version_number")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.name}"

    @property
    def name(self) -> str:
        return f"v{self.number}"

    @property
    def download_name(self) -> str:
        return f"campaign-{self.campaign_id}-{self.name}-{self.layout}-{self.format}.zip"
