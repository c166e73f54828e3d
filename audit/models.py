"""The audit log: security-relevant actions with who, when, what and from where.

Rows are written by the services that act (audit.services.record), never by signals; they outlive the
people and objects they name (SET_NULL plus a text label), and nothing in the product updates or deletes them.
"""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        ROLE_GRANTED = "role.granted", _("Role granted")
        ROLE_CHANGED = "role.changed", _("Role changed")
        ROLE_REVOKED = "role.revoked", _("Role withdrawn")
        PLATFORM_ROLES_CHANGED = "platform_roles.changed", _("Platform roles changed")
        TOKEN_CREATED = "token.created", _("API token created")
        TOKEN_REVOKED = "token.revoked", _("API token revoked")
        EXPORT_REQUESTED = "export.requested", _("Export requested")
        EXPORT_DOWNLOADED = "export.downloaded", _("Export downloaded")
        IDENTITY_VIEWED = "identity.viewed", _("Identity document viewed")
        IDENTITY_DOWNLOADED = "identity.downloaded", _("Identity document file opened")
        PERSONAL_DATA_EXPORTED = "personal_data.exported", _("Personal data exported by staff")
        CONTRIBUTOR_STATUS_CHANGED = "contributor.status", _("Contributor suspended, banned or reinstated")
        BUDGET_SPENT = "campaign.budget_spent", _("Campaign paused: budget spent")
        BUDGET_SET = "campaign.budget_set", _("Campaign budget set")
        PAYOUT_BATCH_APPROVED = "payout.batch_approved", _("Payout batch approved")
        BANK_RESULT_IMPORTED = "payout.bank_result_imported", _("Bank result file imported")
        BONUS_GRANTED = "bonus.granted", _("Bonus granted by a manager")
        BONUS_REFUSED = "bonus.refused", _("Bonus not posted: budget")
        DISPUTE_OPENED = "dispute.opened", _("Dispute opened by a contributor")
        DISPUTE_DECIDED = "dispute.decided", _("Dispute upheld or overturned")

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=40, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_label = models.CharField(max_length=200, blank=True, help_text=_("who, kept if the account goes"))
    actor_role = models.CharField(max_length=100, blank=True, help_text=_("the role the actor acted in"))
    ip = models.GenericIPAddressField(null=True, blank=True)
    organization = models.ForeignKey("organizations.Organization", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    subject = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", help_text=_("the person whose data or role this is about"))
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = _("audit events")
        verbose_name = _("audit event")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subject", "created_at"], name="audit_subject_created")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} by {self.actor_label}"
