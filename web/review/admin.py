from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from review.models import ReviewDecision, ReviewerAppointment
from web.console import CampaignListFilter, OrgScopedAdminMixin


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
