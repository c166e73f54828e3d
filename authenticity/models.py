"""Authenticity: a human-likeness score per annotation, per-campaign policy and reference LLM outputs."""
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DEFAULT_THRESHOLD = 0.5
DEFAULT_NEAR_DUPLICATE = 0.6
DEFAULT_REFERENCE_MATCH = 0.5  # word n-gram containment from which an answer matches an item's LLM answer


class AuthenticityPolicy(models.Model):
    """How strictly a campaign flags answers; campaigns without a row use the defaults."""

    campaign = models.OneToOneField("tasks.Campaign", on_delete=models.CASCADE, related_name="authenticity_policy")
    enabled = models.BooleanField(_("score answers"), default=True)
    threshold = models.FloatField(
        _("flag below"), default=DEFAULT_THRESHOLD,
        help_text=_("Answers whose human-likeness score is below this value go to the review queue."),
    )
    near_duplicate = models.FloatField(
        _("near-duplicate similarity"), default=DEFAULT_NEAR_DUPLICATE,
        help_text=_("Estimated Jaccard similarity from which an answer counts as a copy."),
    )
    compare_same_item = models.BooleanField(
        _("compare answers to the same item"), default=False,
        help_text=_("Off for transcription and correction tasks, where answers to one item should agree."),
    )
    reference_match = models.FloatField(
        _("reference answer match"), default=DEFAULT_REFERENCE_MATCH,
        help_text=_("Containment of the answer's words and word pairs in an LLM answer to the same item from which "
                    "the answer counts as that LLM answer or a paraphrase of it."),
    )
    text_signal = models.BooleanField(
        _("use the text-only signal"), default=False,
        help_text=_("Off by default: on texts this project did not write, the text-only signal was near chance "
                    "(ROC AUC 0.68, below the 0.85 required)."),
    )
    text_weight = models.FloatField(
        _("weight of the text-only signal"), default=0.3,
        help_text=_("Share of the score taken from the text's style when the text-only signal is on."),
    )

    class Meta:
        verbose_name = _("authenticity policy")
        verbose_name_plural = _("authenticity policies")

    def __str__(self) -> str:
        return f"authenticity policy of {self.campaign_id}"


class ReferenceText(models.Model):
    """A known LLM output for a campaign (uploaded by its manager): answers copying it are flagged.

    With ``item`` set it is an answer an LLM gave to that item's prompt: answers to the same item are compared
    with it for paraphrase too (authenticity/paraphrase.py), and ``source`` names the model."""

    campaign = models.ForeignKey("tasks.Campaign", on_delete=models.CASCADE, related_name="reference_texts")
    item = models.ForeignKey("tasks.Item", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="reference_answers")
    text = models.TextField(_("text"))
    source = models.CharField(_("model"), max_length=200, blank=True, help_text=_("e.g. the model that wrote it"))
    signature = models.BinaryField(null=True, blank=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("reference LLM text")
        verbose_name_plural = _("reference LLM texts")
        indexes = [models.Index(fields=["campaign", "id"], name="reftext_campaign_idx")]

    def __str__(self) -> str:
        return self.text[:60]

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.item_id and self.campaign_id and self.item.campaign_id != self.campaign_id:
            raise ValidationError({"item": _("The item must belong to the campaign.")})
        if self.item_id and not self.source.strip():
            raise ValidationError({"source": _("Name the model that wrote the answer.")})


class AuthenticityScore(models.Model):
    """Human-likeness of one annotation in [0, 1] with the components that produced it."""

    class Evidence(models.TextChoices):
        TYPED = "typed", _("Typed")
        MIXED = "mixed", _("Partly pasted")
        PASTED = "pasted", _("Mostly pasted")
        NONE = "none", _("No behavioural evidence")
        NOT_APPLICABLE = "not_applicable", _("No free text")

    class Review(models.TextChoices):
        PENDING = "", _("Not reviewed")
        HUMAN = "human", _("Confirmed human")
        NOT_HUMAN = "not_human", _("Not human-written")

    annotation = models.OneToOneField("annotations.Annotation", on_delete=models.CASCADE, related_name="authenticity")
    campaign = models.ForeignKey("tasks.Campaign", on_delete=models.CASCADE, related_name="+")
    contributor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(null=True, blank=True, help_text=_("Human-likeness in [0, 1]; empty without free text"))
    components = models.JSONField(default=dict, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    flagged = models.BooleanField(default=False, db_index=True)
    behaviour_evidence = models.CharField(max_length=16, choices=Evidence.choices, default=Evidence.NONE)
    text_chars = models.PositiveIntegerField(default=0)
    pasted_share = models.FloatField(null=True, blank=True)
    stripped_vietnamese = models.BooleanField(default=False)
    mixed_script = models.BooleanField(default=False)
    signature = models.BinaryField(null=True, blank=True, editable=False)
    algorithm_version = models.CharField(max_length=10, blank=True)
    review_decision = models.CharField(max_length=10, choices=Review.choices, default=Review.PENDING, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = _("authenticity scores")
        verbose_name = _("authenticity score")
        indexes = [
            models.Index(fields=["campaign", "flagged"], name="authscore_campaign_flag_idx"),
            models.Index(fields=["contributor", "flagged"], name="authscore_contrib_flag_idx"),
        ]

    def __str__(self) -> str:
        return f"authenticity of annotation {self.annotation_id}: {self.score}"


class MinHashBand(models.Model):
    """One LSH band key of an annotation's or reference text's MinHash (see authenticity/similarity.py)."""

    campaign = models.ForeignKey("tasks.Campaign", on_delete=models.CASCADE, related_name="+")
    key = models.BigIntegerField()
    score = models.ForeignKey(AuthenticityScore, null=True, blank=True, on_delete=models.CASCADE, related_name="bands")
    reference = models.ForeignKey(ReferenceText, null=True, blank=True, on_delete=models.CASCADE, related_name="bands")

    class Meta:
        verbose_name = _("MinHash band")
        verbose_name_plural = _("MinHash bands")
        indexes = [models.Index(fields=["campaign", "key"], name="minhash_campaign_key_idx")]

    def __str__(self) -> str:
        return f"band {self.key}"


class CampaignReport(models.Model):
    """The dashboard's authenticity panel (``selectors.dataset_report``), stored per campaign and language so the
    page reads one row instead of aggregating every score. A flag raised, lifted or reviewed marks it stale
    (``services.forget_authenticity_panel``); ``services.refresh_report`` (inline for small campaigns, a job
    for big ones) writes it again."""

    campaign = models.ForeignKey("tasks.Campaign", on_delete=models.CASCADE, related_name="+")
    language = models.CharField(max_length=16)
    report = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    stale = models.BooleanField(default=False)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("authenticity report")
        verbose_name_plural = _("authenticity reports")
        constraints = [models.UniqueConstraint(fields=["campaign", "language"], name="uniq_authenticity_report")]

    def __str__(self) -> str:
        return f"authenticity report of campaign {self.campaign_id} ({self.language})"
