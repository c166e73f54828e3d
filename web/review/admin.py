from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.schema import SchemaError
from review.disputes import decide_dispute, may_decide, staff_queue
from review.models import Dispute, ReviewDecision, ReviewerAppointment
from web.console import CampaignListFilter, OrgScopedAdminMixin, _pseudonym


@admin.register(ReviewerAppointment)
class ReviewerAppointmentAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    list_display = ["reviewer", "campaign", "appointed_by", "created_at"]
    list_filter = [CampaignListFilter]
    list_select_related = ["reviewer", "campaign", "appointed_by"]
    raw_id_fields = ["reviewer", "campaign"]
    readonly_fields = ["appointed_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.appointed_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    list_display = ["id", "campaign", "item_link", "annotation_id", "decision", "reviewer", "is_current", "created_at"]
    list_filter = [CampaignListFilter, "decision", "is_current"]
    list_select_related = ["campaign", "reviewer"]
    raw_id_fields = ["annotation", "item", "campaign", "reviewer"]

    def has_add_permission(self, request):
        return False  # decisions are taken on the review page

    def has_change_permission(self, request, obj=None):
        return False  # a decision is history; a new decision replaces it

    @admin.display(description=_("item"))
    def item_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("review:item", args=[obj.item_id]), obj.item_id)


class DisputeDecisionForm(forms.ModelForm):
    """Staff answer a contest: uphold or overturn, with the answer the contributor reads."""

    outcome = forms.ChoiceField(label=_("decision"), widget=forms.RadioSelect, choices=[
        ("uphold", _("Uphold: the decision stands")),
        ("overturn", _("Overturn: accept the answer and pay it / reinstate the contributor")),
    ])

    class Meta:
        model = Dispute
        fields = ["staff_answer"]

    def clean_staff_answer(self):
        answer = " ".join((self.cleaned_data.get("staff_answer") or "").split())
        if not answer:
            raise forms.ValidationError(_("Write the answer the contributor will read."))
        return answer


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    """The staff queue of contests: answers of the campaigns the user reviews (scoped per organisation), and
    suspensions for trust-and-safety staff (review.disputes.staff_queue). Contributors appear by pseudonym."""

    form = DisputeDecisionForm
    list_display = ["id", "kind", "state", "campaign", "annotation_id", "pseudonym", "created_at", "decided_at"]
    list_filter = ["state", "kind"]
    list_select_related = ["campaign", "contributor__contributor"]
    readonly_fields = ["kind", "state", "campaign", "annotation_link", "pseudonym", "decision_reason", "reason",
                       "decided_by", "decided_at", "created_at"]

    @admin.display(description=_("contributor"))
    def pseudonym(self, obj):
        return _pseudonym(obj.contributor)

    @admin.display(description=_("answer"))
    def annotation_link(self, obj):
        if not obj.annotation_id:
            return "-"
        return format_html('<a href="{}">#{}</a>', reverse("review:item", args=[obj.annotation.item_id]),
                           obj.annotation_id)

    def get_queryset(self, request):
        return staff_queue(request.user).select_related("campaign", "annotation", "contributor__contributor")

    def get_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None and obj.state == Dispute.State.OPEN and may_decide(request.user, obj):
            fields += ["outcome", "staff_answer"]
        else:
            fields += ["staff_answer"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.state == Dispute.State.OPEN and may_decide(request.user, obj):
            return self.readonly_fields
        return [*self.readonly_fields, "staff_answer"]

    def has_add_permission(self, request):
        return False  # contributors open disputes from their statement

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            decide_dispute(dispute=obj, by=request.user, overturn=form.cleaned_data["outcome"] == "overturn",
                           answer=form.cleaned_data["staff_answer"])
        except (SchemaError, PermissionDenied) as exc:
            self.message_user(request, getattr(exc, "message", str(exc)), messages.ERROR)
