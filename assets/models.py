"""Stored media (images, recordings, videos and their frame stores): where it lives in storage and what decoding it told us."""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MediaAsset(models.Model):
    """One validated file in the media storage. The ``key`` is a storage name, never a public path."""

    class Kind(models.TextChoices):
        IMAGE = "image", _("Image")
        AUDIO = "audio", _("Audio")
        VIDEO = "video", _("Video")

    key = models.CharField(max_length=300, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    content_type = models.CharField(max_length=100)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    campaign = models.ForeignKey(
        "tasks.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="media_assets"
    )
    assignment = models.ForeignKey(
        "tasks.Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="media_assets"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Decoding results (width/height or duration/sample rate/levels) and, for recordings, the
    # speaker's profile and device at recording time.
    info = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = _("media assets")
        verbose_name = _("media asset")
        indexes = [models.Index(fields=["campaign", "kind"])]

    def __str__(self) -> str:
        return self.key
