"""Authenticity in the managers' console: scores (the review queue filters on ``flagged``), per-campaign
policy, and the reference LLM texts a manager uploads. Writes go through authenticity.services."""
from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from authenticity import services
from authenticity.models import AuthenticityPolicy, AuthenticityScore, ReferenceText
from authenticity.tasks import score_annotations
from tasks.models import Campaign
from web.console import CampaignListFilter, OrgScopedAdminMixin, scope_to_user


@admin.register(AuthenticityScore)
class AuthenticityScoreAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    org_lookup = "campaign__organization"
    list_display = ["annotation", "campaign", "score", "flagged", "behaviour_evidence", "pasted_share",
                    "reasons_display", "review_decision", "updated_at"]
    list_filter = ["flagged", "behaviour_evidence", "review_decision", "stripped_vietnamese", "mixed_script",
                   CampaignListFilter]
    list_select_related = ["campaign"]
    raw_id_fields = ["annotation", "campaign", "contributor", "reviewed_by"]
    readonly_fields = ["annotation", "campaign", "contributor", "score", "flagged", "reasons", "behaviour_evidence",
                       "text_chars", "pasted_share", "stripped_vietnamese", "mixed_script", "algorithm_version",
                       "components_display", "review_decision", "reviewed_by", "reviewed_at", "created_at",
                       "updated_at"]
    exclude = ["components", "signature"]
    actions = ["confirm_human", "confirm_not_human", "rescore"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=gettext_lazy("reasons"))
    def reasons_display(self, obj) -> str:
        return ", ".join(obj.reasons or [])

    @admin.display(description=gettext_lazy("components"))
    def components_display(self, obj) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.components, ensure_ascii=False, indent=2))

    def _review(self, request, queryset, decision) -> None:
        for score in queryset.select_related("campaign"):
            services.review_score(score=score, decision=decision, reviewer=request.user)
        self.message_user(request, _("%(n)d answers reviewed.") % {"n": queryset.count()}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Confirm human-written (clears the flag's effect on trust)"))
    def confirm_human(self, request, queryset):
        self._review(request, queryset, AuthenticityScore.Review.HUMAN)

    @admin.action(description=gettext_lazy("Confirm not human-written"))
    def confirm_not_human(self, request, queryset):
        self._review(request, queryset, AuthenticityScore.Review.NOT_HUMAN)

    @admin.action(description=gettext_lazy("Score again"))
    def rescore(self, request, queryset):

        ids = list(queryset.values_list("annotation_id", flat=True)[:5000])
        for start in range(0, len(ids), 500):
            score_annotations.delay(ids[start : start + 500])
        self.message_user(request, _("Scoring queued."), messages.SUCCESS)


@admin.register(AuthenticityPolicy)
class AuthenticityPolicyAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    org_lookup = "campaign__organization"
    list_display = ["campaign", "enabled", "threshold", "near_duplicate", "compare_same_item", "reference_match",
                    "text_signal"]
    raw_id_fields = ["campaign"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.rescore_campaign_later(obj.campaign_id)


class ReferenceUploadForm(forms.Form):
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.none(), label=gettext_lazy("Campaign"))
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            'JSONL (one {"text": ..., "model": ...} per line), CSV with a "text" column, or plain text with '
            "one answer per blank-line-separated block. A line or column naming an \"item\" id or "
            "\"external_id\" is an answer an LLM gave to that item's prompt. A file with any bad line stores "
            "nothing."
        ),
    )
    source = forms.CharField(label=gettext_lazy("Source (e.g. the model)"), max_length=200, required=False)


@admin.register(ReferenceText)
class ReferenceTextAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    org_lookup = "campaign__organization"
    list_display = ["__str__", "campaign", "item", "source", "created_at"]
    list_filter = [CampaignListFilter]
    search_fields = ["source"]
    raw_id_fields = ["campaign", "item", "uploaded_by"]
    readonly_fields = ["uploaded_by", "created_at"]
    change_list_template = "admin/authenticity/referencetext/change_list.html"

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="authenticity_referencetext_upload"),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change):
        # Through the service so the text gets its fingerprint and the campaign is rescored.
        if not change:
            obj.uploaded_by = request.user
        services.store_reference_text(reference=obj)

    def delete_model(self, request, obj):
        services.delete_reference_texts(queryset=ReferenceText.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        services.delete_reference_texts(queryset=queryset)

    def upload_view(self, request):
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = ReferenceUploadForm(request.POST or None, request.FILES or None)
        form.fields["campaign"].queryset = scope_to_user(Campaign.objects.all(), request.user).order_by("-id")
        errors: list[dict] = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                entries = services.parse_reference_file(upload.read(), upload.name or "")
                source = form.cleaned_data["source"]
                for entry in entries:
                    entry["source"] = entry.get("source") or source
                # Lines naming an "item" or "external_id" are answers LLMs gave to that item's prompt.
                entries = services.attach_items(campaign=form.cleaned_data["campaign"], entries=entries)
            except services.ReferenceImportError as exc:
                errors = exc.errors[:200]
            else:
                created = services.add_reference_texts(
                    campaign=form.cleaned_data["campaign"], entries=entries, uploaded_by=request.user
                )
                self.message_user(request, _("%(n)d reference texts stored; the campaign's answers are being "
                                             "scored against them.") % {"n": created}, messages.SUCCESS)
                return redirect(reverse("admin:authenticity_referencetext_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "errors": errors,
            "title": _("Upload reference LLM texts"),
        }
        return TemplateResponse(request, "admin/authenticity/referencetext/upload.html", context)
