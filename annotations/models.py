"""Annotations (one contributor's answer to one item) and the consensus per item."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.jobs import JobStatus
from tasks.models import Assignment, Campaign, Item


class Annotation(models.Model):
    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="annotation")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    # No index of its own: annotation_campaign_idx (campaign, id) serves every look-up by campaign.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="annotations", db_index=False)
    contributor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotations")
    payload = models.JSONField()
    is_gold = models.BooleanField(default=False)
    gold_correct = models.BooleanField(null=True, blank=True)
    # Whether the answer agrees with its item's final consensus by the type's own rule, written when the
    # consensus finalises (the same verdict that feeds trust); null: not decided, not comparable (free text)
    # or answered before the column existed. Lets the dashboard count agreement with one GROUP BY.
    agrees_with_consensus = models.BooleanField(null=True, blank=True)
    time_spent_ms = models.PositiveIntegerField(default=0)
    telemetry = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name_plural = _("annotations")
        verbose_name = _("annotation")
        constraints = [
            models.UniqueConstraint(
                fields=["contributor", "idempotency_key"],
                name="uniq_annotation_idempotency",
                condition=Q(idempotency_key__isnull=False),
            )
        ]
        indexes = [models.Index(fields=["campaign", "id"], name="annotation_campaign_idx")]

    def __str__(self) -> str:
        return f"annotation {self.pk} on item {self.item_id}"


class Consensus(models.Model):
    class State(models.TextChoices):
        COLLECTING = "collecting", _("Collecting")
        NEEDS_MORE = "needs_more", _("Needs more answers")
        FINALISED = "finalised", _("Finalised")
        DISPUTED = "disputed", _("Disputed (expert review)")

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="consensus")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="consensus_results")
    state = models.CharField(max_length=12, choices=State.choices, default=State.COLLECTING)
    result = models.JSONField(default=dict, blank=True)
    confidence = models.FloatField(default=0.0)
    agreement = models.FloatField(default=0.0)
    method = models.CharField(max_length=40, blank=True)
    algorithm_version = models.CharField(max_length=20, blank=True)
    n_answers = models.PositiveIntegerField(default=0)
    # Ids of this item's answers that already fed their contributor's trust (agreement with the finalised
    # consensus). Written with the consensus row, under its lock, so no answer is ever counted twice.
    counted_answers = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("consensus")
        verbose_name_plural = _("consensus results")
        indexes = [models.Index(fields=["campaign", "state"])]

    def __str__(self) -> str:
        return f"consensus of item {self.item_id}: {self.state}"


class ConsensusJob(models.Model):
    """One campaign re-score run (beat or on demand): its progress, outcome and figures, for the admin and API."""

    Status = JobStatus

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="consensus_jobs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    trigger = models.CharField(max_length=20, default="manual", help_text=_("manual, beat or api"))
    stage = models.CharField(max_length=40, blank=True)
    progress = models.FloatField(default=0.0, help_text=_("0..1"))
    method = models.CharField(max_length=40, blank=True)
    algorithm_version = models.CharField(max_length=20, blank=True)
    n_answers = models.PositiveIntegerField(default=0)
    n_items = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text=_("Items per state and other figures"))
    timings = models.JSONField(default=dict, blank=True, help_text=_("Seconds per stage"))
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = _("consensus jobs")
        verbose_name = _("consensus job")
        ordering = ["-id"]
        indexes = [models.Index(fields=["campaign", "-id"], name="consensus_job_campaign_idx")]

    def __str__(self) -> str:
        return f"consensus job {self.pk} of campaign {self.campaign_id} ({self.status})"


class CampaignScoring(models.Model):
    """The last campaign-level fit: Dawid-Skene parameters (reused to score single items between runs)
    and the quality report (Krippendorff's alpha, contributor accuracy, confusion matrices)."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="scoring")
    method = models.CharField(max_length=40, blank=True)
    algorithm_version = models.CharField(max_length=20, blank=True)
    n_answers = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    parameters = models.BinaryField(blank=True, default=b"", help_text=_("NumPy .npz of the fitted model"))
    fitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = _("campaign scorings")
        verbose_name = _("campaign scoring")

    def __str__(self) -> str:
        return f"scoring of campaign {self.campaign_id} ({self.method})"


class CampaignQuality(Campaign):
    """Admin entry for a campaign's quality report and its on-demand re-score (a proxy: no table)."""

    class Meta:
        proxy = True
        verbose_name = _("campaign quality")
        verbose_name_plural = _("campaign quality")

