from django.contrib import admin

from .models import Annotation, Consensus


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "item", "contributor", "is_gold", "gold_correct", "time_spent_ms", "created_at"]
    list_filter = ["is_gold"]
    list_select_related = ["campaign", "contributor"]
    raw_id_fields = ["assignment", "item", "campaign", "contributor"]
    show_full_result_count = False


@admin.register(Consensus)
class ConsensusAdmin(admin.ModelAdmin):
    list_display = ["item", "campaign", "state", "confidence", "agreement", "method", "n_answers", "updated_at"]
    list_filter = ["state", "method"]
    list_select_related = ["campaign"]
    raw_id_fields = ["item", "campaign"]
    show_full_result_count = False
