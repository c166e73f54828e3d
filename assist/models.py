"""Model assistance (issue 23): a campaign's model backends, their suggestions, the call log, and what the
labelling page showed each contributor (docs/ml-backends.md)."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tasks.models import Assignment, Campaign, Item


class AssistSettings(models.Model):
    """How a campaign uses its backends' suggestions: one row per campaign (defaults when missing)."""

    class Policy(models.TextChoices):
        PREFILL = "prefill", _("Pre-fill the answer")
        HINT = "hint", _("Show beside the answer")

    class Strategy(models.TextChoices):
        NONE = "none", _("None (the campaign's order)")
        LEAST_CONFIDENT = "least_confident", _("Least confident first")
        MARGIN = "margin", _("Smallest margin first")
        ENTROPY = "entropy", _("Highest entropy first")
        DISAGREEMENT = "disagreement", _("Disagreement between two backends first")

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="assist_settings")
    policy = models.CharField(_("policy"), max_length=10, choices=Policy.choices, default=Policy.HINT)
    control_share = models.FloatField(
        _("control share"), default=0.2,
        help_text=_("Share (0-1) of items each contributor labels without a suggestion, so acceptance bias can "
                    "be measured."))
    strategy = models.CharField(_("active-learning strategy"), max_length=20, choices=Strategy.choices,
                                default=Strategy.NONE)
    sure_threshold = models.FloatField(
        _("stop when the model is sure (score)"), null=True, blank=True,
        help_text=_("Empty: never. Items whose suggestion scores at least this stop collecting answers, once "
                    "the backend passes the gold check."))
    gold_accuracy_required = models.FloatField(_("gold accuracy required"), default=0.9)
    min_gold_items = models.PositiveIntegerField(_("gold items required"), default=20)

    class Meta:
        verbose_name = _("model-assistance settings")
        verbose_name_plural = _("model-assistance settings")

    def __str__(self) -> str:
        return f"assist settings of {self.campaign_id}"


class ModelBackend(models.Model):
    """An HTTP server speaking ``annotate-ml/1`` for one campaign, with its circuit breaker's state."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="model_backends")
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("base URL"), max_length=500)
    # The bearer token, encrypted (assist.secrets); never shown back, never logged.
    token_encrypted = models.TextField(blank=True, default="", editable=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    predict_on_import = models.BooleanField(_("ask at import"), default=True)
    retrain_after_consensus = models.BooleanField(_("retrain after each consensus round"), default=False)
    timeout_seconds = models.FloatField(_("timeout (s)"), default=10.0)
    max_retries = models.PositiveSmallIntegerField(_("retries"), default=2)
    breaker_threshold = models.PositiveSmallIntegerField(
        _("failures before the breaker opens"), default=5)
    breaker_cooldown_seconds = models.PositiveIntegerField(_("breaker cool-down (s)"), default=60)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    breaker_opened_at = models.DateTimeField(null=True, blank=True, editable=False)
    model_version = models.CharField(max_length=200, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("model backend")
        verbose_name_plural = _("model backends")
        ordering = ["campaign_id", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "name"], name="uniq_backend_name")]

    def __str__(self) -> str:
        return self.name


class Suggestion(models.Model):
    """One backend's latest proposal for one item (replaced when the backend answers again)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="suggestions")
    backend = models.ForeignKey(ModelBackend, on_delete=models.CASCADE, related_name="suggestions")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_index=False)
    answer = models.JSONField()
    score = models.FloatField()
    distribution = models.JSONField(null=True, blank=True)
    uncertainty = models.FloatField()
    model_version = models.CharField(max_length=200, blank=True)
    # Set when the campaign stopped collecting answers on the item because this suggestion was sure enough.
    stopped_collecting_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("suggestion")
        verbose_name_plural = _("suggestions")
        constraints = [models.UniqueConstraint(fields=["item", "backend"], name="uniq_suggestion_item_backend")]
        indexes = [models.Index(fields=["campaign", "item"], name="suggestion_campaign_idx")]

    def __str__(self) -> str:
        return f"suggestion for item {self.item_id} by {self.backend_id}"


class BackendCall(models.Model):
    """One HTTP call to a backend (or one the breaker refused): the health report counts these."""

    class Kind(models.TextChoices):
        HEALTH = "health", _("health")
        PREDICT = "predict", _("predict")
        TRAIN = "train", _("train")

    class Outcome(models.TextChoices):
        OK = "ok", _("ok")
        TIMEOUT = "timeout", _("timeout")
        HTTP_ERROR = "http_error", _("HTTP error")
        CONNECTION = "connection", _("connection failed")
        WRONG_SCHEMA = "wrong_schema", _("wrong schema")
        BREAKER_OPEN = "breaker_open", _("refused: breaker open")

    backend = models.ForeignKey(ModelBackend, on_delete=models.CASCADE, related_name="calls")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    outcome = models.CharField(max_length=15, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    items = models.PositiveIntegerField(default=0)
    suggestions = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0, help_text=_("suggestions refused: wrong schema"))
    duration_ms = models.PositiveIntegerField(default=0)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("backend call")
        verbose_name_plural = _("backend calls")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.outcome}"


class Exposure(models.Model):
    """What the labelling page got for one assignment: the server decides and records it, so whether a
    suggestion was shown never rests on the page's word; the outcome is classified from the stored answer."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("accepted unchanged")
        EDITED = "edited", _("edited")
        REJECTED = "rejected", _("rejected")

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="exposure")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_index=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    contributor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    shown = models.BooleanField()
    control = models.BooleanField(help_text=_("held back on purpose (the control share)"))
    policy = models.CharField(max_length=10, blank=True)
    suggestion = models.ForeignKey(Suggestion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    answer = models.JSONField(null=True, blank=True, help_text=_("the suggested answer as shown"))
    score = models.FloatField(null=True, blank=True)
    model_version = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    fields_changed = models.PositiveIntegerField(null=True, blank=True)
    chars_changed = models.PositiveIntegerField(null=True, blank=True)
    words_changed = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    classified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("suggestion exposure")
        verbose_name_plural = _("suggestion exposures")
        indexes = [
            models.Index(fields=["campaign", "contributor"], name="exposure_campaign_idx"),
            # The classification sweep reads the shown, unclassified ones.
            models.Index(fields=["id"], name="exposure_unclassified_idx",
                         condition=Q(shown=True, classified_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"exposure of assignment {self.assignment_id}"
