"""Admin for exports and webhooks, scoped to the manager's organisations (web.console mixin)."""
from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from exports.models import DatasetVersion, Export, Webhook, WebhookDelivery
from exports.webhooks import UnsafeURL, check_url, send_test_event
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


class WebhookAdminForm(forms.ModelForm):
    """The API's URL rule (exports.webhooks.check_url) for webhooks added or changed in the admin."""

    class Meta:
        model = Webhook
        fields = ["organization", "url", "events", "is_active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            check_url(url)
        except UnsafeURL as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url


@admin.register(Webhook)
class WebhookAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    org_lookup = "organization"
    form = WebhookAdminForm
    list_display = ["id", "organization", "url", "events", "is_active", "created_at"]
    list_filter = ["is_active"]
    list_select_related = ["organization"]
    raw_id_fields = ["organization"]
    readonly_fields = ["created_by", "created_at"]
    actions = ["send_test_event"]

    @admin.action(description=_("Send a test event"), permissions=["change"])
    def send_test_event(self, request, queryset):
        """The "send test event" button: a signed ``test`` delivery per selected webhook, logged in the
        deliveries list like any other, so an integrator sees their endpoint's answer here."""
        sent = [send_test_event(hook) for hook in queryset]
        self.message_user(request, ngettext("%(n)d test event queued; see its delivery log.",
                                            "%(n)d test events queued; see their delivery log.", len(sent))
                          % {"n": len(sent)}, messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user  # never a user named in the form (could be another organisation's)
        super().save_model(request, obj, form, change)


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


@admin.register(DatasetVersion)
class DatasetVersionAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    """Versions are frozen from the API (or the client); here they are listed, never changed."""

    org_lookup = "organization"
    list_display = ["id", "campaign", "name", "layout", "format", "rows", "sha256", "created_at"]
    list_filter = ["layout", "format"]
    list_select_related = ["campaign"]
    readonly_fields = [f.name for f in DatasetVersion._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
