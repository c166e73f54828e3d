"""The console's model assistance (issue 23): backends per campaign (token write-only), their health and
failure report, "ask for suggestions now", the campaign's assistance settings, and read-only logs."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assist import services, tasks
from assist.models import AssistSettings, BackendCall, Exposure, ModelBackend, Suggestion
from assist.selectors import backend_health
from web.console import CampaignListFilter, OrgScopedAdminMixin

ORG = "campaign__organization"


@admin.register(AssistSettings)
class AssistSettingsAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    org_lookup = ORG
    list_display = ["campaign", "policy", "control_share", "strategy", "sure_threshold", "gold_accuracy_required"]
    raw_id_fields = ["campaign"]

    def save_model(self, request, obj, form, change):
        if not 0 <= obj.control_share <= 1:
            obj.control_share = min(max(obj.control_share, 0.0), 1.0)
        super().save_model(request, obj, form, change)


class ModelBackendForm(forms.ModelForm):
    token = forms.CharField(
        label=gettext_lazy("token"), required=False, strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy("Sent as a bearer token; stored encrypted and never shown again. Leave empty to "
                               "keep the current one."))
    clear_token = forms.BooleanField(label=gettext_lazy("remove the token"), required=False)

    class Meta:
        model = ModelBackend
        fields = ["campaign", "name", "url", "enabled", "predict_on_import", "retrain_after_consensus",
                  "timeout_seconds", "max_retries", "breaker_threshold", "breaker_cooldown_seconds"]

    def clean_timeout_seconds(self):
        value = self.cleaned_data["timeout_seconds"]
        if not 0 < value <= 120:
            raise forms.ValidationError(_("Between 0 and 120 seconds."))
        return value


@admin.register(ModelBackend)
class ModelBackendAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    org_lookup = ORG
    form = ModelBackendForm
    list_display = ["name", "campaign", "url", "enabled", "breaker", "consecutive_failures", "model_version",
                    "last_success_at"]
    list_filter = ["enabled", CampaignListFilter]
    list_select_related = ["campaign"]
    raw_id_fields = ["campaign"]
    readonly_fields = ["health_report", "model_version", "last_success_at"]
    actions = ["ask_now", "retrain_now", "check_now", "reset_breaker"]

    @admin.display(description=gettext_lazy("breaker"))
    def breaker(self, obj):
        return services.breaker_state(obj)

    @admin.display(description=gettext_lazy("health (last 7 days)"))
    def health_report(self, obj):
        if obj is None or not obj.pk:
            return "–"
        return render_to_string("admin/assist/health.html", {"h": backend_health(obj)})

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.cleaned_data.get("clear_token"):
            services.set_token(backend=obj, token="")
        elif form.cleaned_data.get("token"):
            services.set_token(backend=obj, token=form.cleaned_data["token"])

    @admin.action(description=gettext_lazy("Ask for suggestions now (every open item)"))
    def ask_now(self, request, queryset):
        for backend in queryset:
            tasks.request_suggestions.delay(backend.campaign_id, backend.pk, False)
        self.message_user(request, _("Asked %(n)s backend(s); suggestions arrive in the background.")
                          % {"n": queryset.count()}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Retrain now on the consensus"))
    def retrain_now(self, request, queryset):
        for backend in queryset:
            tasks.train_backend.delay(backend.pk)
        self.message_user(request, _("Retraining started."), messages.SUCCESS)

    @admin.action(description=gettext_lazy("Check health now"))
    def check_now(self, request, queryset):
        for backend in queryset:
            call = services.check_health(backend=backend)
            level = messages.SUCCESS if call.outcome == BackendCall.Outcome.OK else messages.WARNING
            self.message_user(request, f"{backend.name}: {call.get_outcome_display()} {call.detail}".strip(), level)

    @admin.action(description=gettext_lazy("Close the circuit breaker"))
    def reset_breaker(self, request, queryset):
        for backend in queryset:
            services.reset_breaker(backend=backend)
        self.message_user(request, _("Breaker closed."), messages.SUCCESS)


class ReadOnlyAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    org_lookup = ORG

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BackendCall)
class BackendCallAdmin(ReadOnlyAdmin):
    org_lookup = "backend__campaign__organization"
    list_display = ["created_at", "backend", "kind", "outcome", "http_status", "items", "suggestions", "refused",
                    "duration_ms", "detail"]
    list_filter = ["outcome", "kind"]
    list_select_related = ["backend"]


@admin.register(Suggestion)
class SuggestionAdmin(ReadOnlyAdmin):
    list_display = ["item", "backend", "score", "uncertainty", "model_version", "stopped_collecting_at",
                    "updated_at"]
    list_filter = [CampaignListFilter]
    raw_id_fields = ["item", "backend", "campaign"]


@admin.register(Exposure)
class ExposureAdmin(ReadOnlyAdmin):
    list_display = ["assignment", "item", "shown", "control", "policy", "outcome", "fields_changed", "chars_changed",
                    "words_changed", "created_at"]
    list_filter = ["shown", "control", "outcome", CampaignListFilter]
    raw_id_fields = ["assignment", "item", "suggestion", "campaign"]
