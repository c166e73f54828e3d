"""Console pages for annotations and consensus: organisation-scoped, fast at a million rows.

No N+1 (list_select_related), raw-id widgets for the large foreign keys, a campaign filter that reads
the campaign table, and estimated counts (web.console.EstimatedCountPaginator).
"""
import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from annotations.models import Annotation, Consensus
from web.console import CampaignListFilter, OrgScopedAdminMixin


def _pretty(value):
    return format_html('<pre class="console-json">{}</pre>', json.dumps(value, ensure_ascii=False, indent=2))


@admin.register(Annotation)
class AnnotationAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    list_display = ["id", "campaign", "item_link", "contributor", "is_gold", "gold_correct", "time_spent_ms",
                    "created_at"]
    list_filter = [CampaignListFilter, "is_gold", "gold_correct"]
    list_select_related = ["campaign", "contributor"]
    raw_id_fields = ["assignment", "item", "campaign", "contributor"]
    readonly_fields = ["payload_pretty", "telemetry_pretty", "created_at", "idempotency_key"]
    exclude = ["payload", "telemetry"]
    search_fields = ["=id"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if term.isdigit():
            return queryset.filter(pk=int(term)), False
        return queryset, False

    def has_add_permission(self, request):
        return False  # answers come from contributors through the submit service

    def has_delete_permission(self, request, obj=None):
        return False  # answers are kept; a reviewer rejects a bad one (review queue) instead

    @admin.display(description=_("item"), ordering="item_id")
    def item_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("review:item", args=[obj.item_id]), obj.item_id)

    @admin.display(description=_("answer"))
    def payload_pretty(self, obj):
        return _pretty(obj.payload)

    @admin.display(description=_("telemetry"))
    def telemetry_pretty(self, obj):
        return _pretty(obj.telemetry)


@admin.register(Consensus)
class ConsensusAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    list_display = ["item_link", "campaign", "state", "confidence", "agreement", "method", "n_answers", "updated_at"]
    list_filter = [CampaignListFilter, "state"]  # no "method": its choices would be a DISTINCT over the table
    list_select_related = ["campaign"]
    raw_id_fields = ["item", "campaign"]
    readonly_fields = ["result_pretty", "updated_at"]
    exclude = ["result"]

    def has_add_permission(self, request):
        return False  # consensus is computed by the scoring workers (or set by a reviewer's correction)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("item"), ordering="item_id")
    def item_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("review:item", args=[obj.item_id]), obj.item_id)

    @admin.display(description=_("result"))
    def result_pretty(self, obj):
        return _pretty(obj.result)

