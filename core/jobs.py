"""The one vocabulary of a background job's status (item imports, exports, webhook deliveries' retries aside,
consensus re-scores): pending -> running -> succeeded | failed. The admin, the API and the pages show these."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
