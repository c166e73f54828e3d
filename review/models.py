"""Expert review of annotations and the reviewers appointed to campaigns."""
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReviewerAppointment(models.Model):
    """A user appointed to review one campaign's annotations (besides the organisation's managers)."""

    campaign = models.ForeignKey("tasks.Campaign", on_delete=models.CASCADE, related_name="reviewer_appointments")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_appointments")
    appointed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = _("reviewer appointments")
        verbose_name = _("reviewer appointment")
        constraints = [models.UniqueConstraint(fields=["campaign", "reviewer"], name="uniq_reviewer_per_campaign")]

    def __str__(self) -> str:
        return f"{self.reviewer} reviews {self.campaign}"


class ReviewDecision(models.Model):
    """A reviewer's verdict on one annotation; the latest decision per annotation is the one that counts."""

    class Decision(models.TextChoices):
        ACCEPT = "accept", _("Accepted")
        REJECT = "reject", _("Rejected")
        CORRECT = "correct", _("Corrected")

    annotation = models.ForeignKey("annotations.Annotation", on_delete=models.CASCADE, related_name="review_decisions")
    item = models.ForeignKey("tasks.Item", on_delete=models.CASCADE, related_name="review_decisions")
    campaign = models.ForeignKey("tasks.Campaign", on_delete=models.CASCADE, related_name="review_decisions")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="review_decisions"
    )
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    reason = models.TextField(_("reason"), blank=True)
    corrected_payload = models.JSONField(_("corrected answer"), null=True, blank=True)
    is_current = models.BooleanField(default=True, help_text=_("False once a later decision replaced this one."))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = _("review decisions")
        verbose_name = _("review decision")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["campaign", "-id"], name="review_campaign_idx"),
            models.Index(fields=["annotation"], name="review_current_idx", condition=models.Q(is_current=True)),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} annotation {self.annotation_id}"


class QualitySnapshot(models.Model):
    """Krippendorff's alpha of a campaign each time its consensus was re-fitted: the dashboard's trend."""

    campaign = models.ForeignKey("tasks.Campaign", on_delete=models.CASCADE, related_name="quality_snapshots")
    alpha = models.FloatField(null=True, blank=True, help_text=_("Mean over the task type's questions"))
    per_question = models.JSONField(default=dict, blank=True)
    mean_agreement = models.FloatField(null=True, blank=True)
    n_answers = models.PositiveIntegerField(default=0)
    method = models.CharField(max_length=40, blank=True)
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = _("quality snapshots")
        verbose_name = _("quality snapshot")
        indexes = [models.Index(fields=["campaign", "taken_at"], name="quality_snapshot_idx")]

    def __str__(self) -> str:
        return f"alpha {self.alpha} of {self.campaign_id} at {self.taken_at:%Y-%m-%d %H:%M}"


class Dispute(models.Model):
    """A contributor contests a rejected answer (a review rejection, a failed gold question, a reversal) or their
    suspension; staff uphold or overturn it with an answer the contributor reads.

    It lives in review, above payments and contributors: an overturned answer is accepted through
    ``review.services.decide_review`` (which pays it through the ledger once), an overturned suspension reinstates
    through ``contributors.services.change_status``; neither lower app knows disputes exist.
    """

    class Kind(models.TextChoices):
        ANSWER = "answer", _("Rejected answer")
        SUSPENSION = "suspension", _("Suspension")

    class State(models.TextChoices):
        OPEN = "open", _("Waiting for staff")
        UPHELD = "upheld", _("Upheld: the decision stands")
        OVERTURNED = "overturned", _("Overturned in your favour")

    kind = models.CharField(_("what is contested"), max_length=10, choices=Kind.choices)
    contributor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="disputes")
    campaign = models.ForeignKey("tasks.Campaign", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="disputes")
    annotation = models.ForeignKey("annotations.Annotation", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="disputes")
    decision_reason = models.TextField(_("the reason given for the decision"), blank=True)
    reason = models.TextField(_("the contributor's reason"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    staff_answer = models.TextField(_("answer to the contributor"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["state", "created_at"]
        indexes = [models.Index(fields=["campaign", "state"], name="dispute_campaign_idx")]
        constraints = [
            # one dispute per answer (its answer is final); one open dispute of a suspension at a time
            models.UniqueConstraint(fields=["annotation"], condition=models.Q(kind="answer"),
                                    name="uniq_dispute_per_answer"),
            models.UniqueConstraint(fields=["contributor"], condition=models.Q(kind="suspension", state="open"),
                                    name="uniq_open_suspension_dispute"),
            models.CheckConstraint(condition=models.Q(kind="suspension") | models.Q(annotation__isnull=False),
                                   name="dispute_answer_named"),
        ]

    def __str__(self) -> str:
        return f"dispute {self.pk} ({self.kind}, {self.state})"


class ReviewRequest(models.Model):
    """An item a manager sent to review from the dataset view: it waits in the review queue ("Sent to
    review") until a reviewer decides on one of its answers, which closes the request."""

    item = models.OneToOneField("tasks.Item", on_delete=models.CASCADE, related_name="review_request")
    campaign = models.ForeignKey("tasks.Campaign", on_delete=models.CASCADE, related_name="review_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("review request")
        verbose_name_plural = _("review requests")
        indexes = [models.Index(fields=["campaign", "item"], name="review_request_open_idx",
                                condition=models.Q(closed_at__isnull=True))]

    def __str__(self) -> str:
        return f"review request for item {self.item_id}"


class DashboardSummary(models.Model):
    """The campaign dashboard's figures (review.selectors), stored per campaign and language with the marker of
    the data they were computed from (last answer, last consensus change, last re-fit), so a page or a poll
    reads one row while the data is unchanged; a big campaign serves its figures up to a minute old."""

    campaign = models.ForeignKey("tasks.Campaign", on_delete=models.CASCADE, related_name="+")
    language = models.CharField(max_length=16)
    stamp = models.CharField(max_length=200)
    figures = models.JSONField(encoder=DjangoJSONEncoder)  # the figures hold datetimes (a re-fit's time)
    answers = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("dashboard summary")
        verbose_name_plural = _("dashboard summaries")
        constraints = [models.UniqueConstraint(fields=["campaign", "language"], name="uniq_dashboard_summary")]

    def __str__(self) -> str:
        return f"dashboard of campaign {self.campaign_id} ({self.language})"
