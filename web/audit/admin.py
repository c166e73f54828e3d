"""The audit log in the admin: read-only, for platform staff with the audit action; exportable as CSV."""
from django.contrib import admin
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent
from audit.selectors import events_csv


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "action", "actor_label", "actor_role", "ip", "organization", "subject", "target"]
    list_filter = ["action", "actor_role"]
    list_select_related = ["organization", "subject"]
    search_fields = ["actor_label", "target", "ip", "subject__email"]
    date_hierarchy = "created_at"
    actions = ["export_csv"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=_("Export selected as CSV"), permissions=["view"])
    def export_csv(self, request, queryset):
        response = HttpResponse("\ufeff" + events_csv(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%d%H%M}.csv"'
        response["Cache-Control"] = "private, no-store"
        return response
