"""Contributors: the verified people who label. Profile, status, qualifications, trust, anti-fraud signals."""
import secrets

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tasks.types import get_task_type


def new_pseudonym() -> str:
    return "c_" + secrets.token_hex(8)


class Region(models.TextChoices):
    NORTH = "north", _("North")
    CENTRAL = "central", _("Central")
    SOUTH = "south", _("South")


class ContributorProfile(models.Model):
    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")
        UNDISCLOSED = "undisclosed", _("Prefer not to say")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        BANNED = "banned", _("Banned")
        ERASED = "erased", _("Personal data erased")

    class Device(models.TextChoices):
        PHONE = "phone", _("Phone")
        TABLET = "tablet", _("Tablet")
        COMPUTER = "computer", _("Computer")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contributor")
    pseudonym = models.CharField(max_length=20, unique=True, default=new_pseudonym, editable=False)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=12, choices=Gender.choices, blank=True)
    region = models.CharField(_("home region"), max_length=10, choices=Region.choices, blank=True)
    province = models.CharField(_("province"), max_length=100, blank=True)
    dialect = models.CharField(_("native dialect"), max_length=50, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    device_type = models.CharField(_("device type"), max_length=30, blank=True)
    consent_version = models.CharField(max_length=20, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    identity_verified_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    erasure_requested_at = models.DateTimeField(_("erasure requested at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = _("contributor profiles")
        verbose_name = _("contributor profile")

    def __str__(self) -> str:
        return self.display_name or self.pseudonym

    @property
    def is_complete(self) -> bool:
        """Everything a first task needs, including consent to the current version of the terms."""
        return bool(
            self.display_name and self.birth_year and self.region and self.province and self.consent_at
            and self.consent_version == settings.CONTRIBUTOR_TERMS_VERSION
        )

    @property
    def age_band(self) -> str:
        if not self.birth_year:
            return ""
        age = timezone.now().year - self.birth_year
        for low, high in ((18, 24), (25, 34), (35, 44), (45, 54), (55, 64)):
            if low <= age <= high:
                return f"{low}-{high}"
        return "65+" if age >= 65 else "<18"


class ProfileChange(models.Model):
    """History of profile edits: which fields changed, from what to what, by whom."""

    profile = models.ForeignKey(ContributorProfile, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changes = models.JSONField(default=dict, help_text=_('{"field": [old, new]}'))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = _("profile changes")
        verbose_name = _("profile change")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.profile}: {', '.join(self.changes)}"


class StatusChange(models.Model):
    """Every suspension, reinstatement and ban with its reason; changed_by empty = automatic rule."""

    profile = models.ForeignKey(ContributorProfile, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=10, choices=ContributorProfile.Status.choices)
    to_status = models.CharField(max_length=10, choices=ContributorProfile.Status.choices)
    reason = models.TextField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = _("status changes")
        verbose_name = _("status change")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.profile}: {self.from_status} → {self.to_status}"


def identity_storage():
    """Private storage for identity documents: never under MEDIA_URL, never served publicly."""
    return storages["identity"]


def identity_upload_path(instance, filename: str) -> str:
    # The stored name carries no personal data; the original extension is not trusted either.
    return f"identity/{instance.profile.pseudonym}/{secrets.token_hex(12)}.{instance.file_kind or 'bin'}"


class IdentityDocument(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    profile = models.ForeignKey(ContributorProfile, on_delete=models.CASCADE, related_name="identity_documents")
    file = models.FileField(storage=identity_storage, upload_to=identity_upload_path, max_length=200, blank=True)
    file_kind = models.CharField(max_length=4, blank=True, help_text=_("jpg, png, webp or pdf, from the content"))
    size_bytes = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    file_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = _("identity documents")
        verbose_name = _("identity document")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.profile} ({self.get_state_display()})"


class QualificationTest(models.Model):
    """A task type's qualification test: gold items and a pass mark set by the project manager."""

    task_type = models.CharField(_("task type"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    instructions = models.TextField(_("instructions (Markdown)"), blank=True)
    config = models.JSONField(_("task configuration"), default=dict, blank=True)
    pass_mark = models.FloatField(_("pass mark"), default=0.8, help_text=_("Share of correct answers, 0–1."))
    max_attempts = models.PositiveSmallIntegerField(_("maximum attempts"), default=3)
    cooldown_minutes = models.PositiveIntegerField(_("cool-down between attempts (minutes)"), default=60)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = _("qualification tests")
        verbose_name = _("qualification test")

    def __str__(self) -> str:
        return self.title

    @property
    def task(self):

        return get_task_type(self.task_type)


class QualificationItem(models.Model):
    test = models.ForeignKey(QualificationTest, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(default=0)
    payload = models.JSONField()
    gold_answer = models.JSONField()

    class Meta:
        verbose_name_plural = _("qualification items")
        verbose_name = _("qualification item")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.test} · {self.position}"


class QualificationAttempt(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("In progress")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Failed")

    test = models.ForeignKey(QualificationTest, on_delete=models.CASCADE, related_name="attempts")
    profile = models.ForeignKey(ContributorProfile, on_delete=models.CASCADE, related_name="qualification_attempts")
    number = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    item_ids = models.JSONField(default=list, help_text=_("The items shown, in order"))
    views = models.JSONField(default=list, blank=True, help_text=_("What was shown per item (e.g. an order)"))
    answers = models.JSONField(default=list, blank=True)
    correct = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    score = models.FloatField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = _("qualification attempts")
        verbose_name = _("qualification attempt")
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["test", "profile", "number"], name="uniq_attempt_number")]

    def __str__(self) -> str:
        return f"{self.profile} · {self.test} #{self.number} ({self.state})"


class Qualification(models.Model):
    """A contributor is qualified for a task type (passed its test, or granted by staff)."""

    profile = models.ForeignKey(ContributorProfile, on_delete=models.CASCADE, related_name="qualifications")
    task_type = models.CharField(max_length=40)
    score = models.FloatField(null=True, blank=True)
    attempt = models.ForeignKey(QualificationAttempt, null=True, blank=True, on_delete=models.SET_NULL)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = _("qualifications")
        verbose_name = _("qualification")
        constraints = [models.UniqueConstraint(fields=["profile", "task_type"], name="uniq_qualification")]

    def __str__(self) -> str:
        return f"{self.profile}: {self.task_type}"


class TrustScore(models.Model):
    """Trust of one contributor for one task type; the formula lives in contributors.services.trust_formula."""

    contributor = models.ForeignKey(ContributorProfile, on_delete=models.CASCADE, related_name="trust_scores")
    task_type = models.CharField(max_length=40)
    score = models.FloatField(default=0.5)
    gold_seen = models.PositiveIntegerField(default=0)
    gold_correct = models.PositiveIntegerField(default=0)
    consensus_seen = models.PositiveIntegerField(default=0)
    consensus_agreed = models.PositiveIntegerField(default=0)
    # Open authenticity flags on this contributor's answers of the type (kept by the authenticity app, which
    # counts them); trust takes the penalty from here.
    open_flags = models.PositiveIntegerField(default=0)
    recent_gold = models.JSONField(
        default=list, blank=True, help_text=_("Last gold outcomes (1 correct, 0 wrong), newest last; the window")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("trust score")
        verbose_name_plural = _("trust scores")
        constraints = [models.UniqueConstraint(fields=["contributor", "task_type"], name="uniq_trust_per_type")]

    def __str__(self) -> str:
        return f"{self.contributor} {self.task_type}: {self.score:.2f}"

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_seen if self.gold_seen else None


class DeviceSighting(models.Model):
    """A sign-up or log-in seen from a device fingerprint (HMAC, never the raw value) and an IP."""

    class Event(models.TextChoices):
        SIGNUP = "signup", _("Sign-up")
        LOGIN = "login", _("Log-in")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="device_sightings")
    event = models.CharField(max_length=10, choices=Event.choices)
    fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name_plural = _("device sightings")
        verbose_name = _("device sighting")

    def __str__(self) -> str:
        return f"{self.user_id} {self.event} {self.ip}"


class FraudSignal(models.Model):
    """Something staff should look at; recorded automatically, never acted on automatically."""

    class Kind(models.TextChoices):
        SHARED_DEVICE = "shared_device", _("Several accounts from one device")
        SHARED_IP = "shared_ip", _("Several accounts from one IP address")
        IMPOSSIBLE_SPEED = "impossible_speed", _("Impossible task speed")

    profile = models.ForeignKey(ContributorProfile, on_delete=models.CASCADE, related_name="fraud_signals")
    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    count = models.PositiveIntegerField(default=1, help_text=_("Occurrences folded into this signal"))
    resolved = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = _("fraud signals")
        verbose_name = _("fraud signal")
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.profile}"
