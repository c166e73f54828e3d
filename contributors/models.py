"""Contributors: the verified people who label. Profile, status and trust per task type."""
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_pseudonym() -> str:
    return "c_" + secrets.token_hex(8)


class Region(models.TextChoices):
    NORTH = "north", _("Miền Bắc")
    CENTRAL = "central", _("Miền Trung")
    SOUTH = "south", _("Miền Nam")


class ContributorProfile(models.Model):
    class Gender(models.TextChoices):
        FEMALE = "female", _("Nữ")
        MALE = "male", _("Nam")
        OTHER = "other", _("Khác")
        UNDISCLOSED = "undisclosed", _("Không muốn trả lời")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        BANNED = "banned", _("Banned")

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
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contributor profile")

    def __str__(self) -> str:
        return self.display_name or self.pseudonym

    @property
    def is_complete(self) -> bool:
        return bool(self.display_name and self.birth_year and self.region and self.province and self.consent_at)

    @property
    def age_band(self) -> str:
        if not self.birth_year:
            return ""
        age = timezone.now().year - self.birth_year
        for low, high in ((18, 24), (25, 34), (35, 44), (45, 54), (55, 64)):
            if low <= age <= high:
                return f"{low}-{high}"
        return "65+" if age >= 65 else "<18"


class TrustScore(models.Model):
    """Trust of one contributor for one task type; the formula lives in contributors.services."""

    contributor = models.ForeignKey(ContributorProfile, on_delete=models.CASCADE, related_name="trust_scores")
    task_type = models.CharField(max_length=40)
    score = models.FloatField(default=0.5)
    gold_seen = models.PositiveIntegerField(default=0)
    gold_correct = models.PositiveIntegerField(default=0)
    consensus_seen = models.PositiveIntegerField(default=0)
    consensus_agreed = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contributor", "task_type"], name="uniq_trust_per_type")]

    def __str__(self) -> str:
        return f"{self.contributor} {self.task_type}: {self.score:.2f}"
