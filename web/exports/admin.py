"""Admin for exports and webhooks, scoped to the manager's organisations (web.console mixin)."""
from django.contrib import admin

from exports.models import Export, Webhook, WebhookDelivery
from web.console import OrgScopedAdminMixin


@admin.register(Export)
class ExportAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    org_lookup = "organization"
    list_display = ["id", "campaign", "layout", "format", "status", "rows_written", "size_bytes", "created_at",
                    "finished_at"]
    list_filter = ["status", "format", "layout"]
    list_select_related = ["campaign"]
    raw_id_fields = ["campaign", "organization", "created_by", "token"]
    readonly_fields = [f.name for f in Export._meta.fields]

    def has_add_permission(self, request):
        return False  # exports are requested from the campaign page or the API (validated there)


@admin.register(Webhook)
class WebhookAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    org_lookup = "organization"
    list_display = ["id", "organization", "url", "events", "is_active", "created_at"]
    list_filter = ["is_active"]
    list_select_related = ["organization"]
    raw_id_fields = ["organization", "created_by"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    org_lookup = "webhook__organization"
    list_display = ["id", "webhook", "event", "object_id", "status", "attempts", "last_status_code", "created_at",
                    "delivered_at"]
    list_filter = ["status", "event"]
    list_select_related = ["webhook"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False
