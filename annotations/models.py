"""Annotations (one contributor's answer to one item) and the consensus per item."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tasks.models import Assignment, Campaign, Item


class Annotation(models.Model):
    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="annotation")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="annotations")
    contributor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotations")
    payload = models.JSONField()
    is_gold = models.BooleanField(default=False)
    gold_correct = models.BooleanField(null=True, blank=True)
    time_spent_ms = models.PositiveIntegerField(default=0)
    telemetry = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
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
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("consensus")
        verbose_name_plural = _("consensus results")
        indexes = [models.Index(fields=["campaign", "state"])]

    def __str__(self) -> str:
        return f"consensus of item {self.item_id}: {self.state}"
