from django.contrib import admin

from .models import ContributorProfile, TrustScore


@admin.register(ContributorProfile)
class ContributorProfileAdmin(admin.ModelAdmin):
    list_display = ["pseudonym", "display_name", "region", "province", "status", "created_at"]
    list_filter = ["status", "region"]
    search_fields = ["pseudonym", "display_name", "user__email"]
    raw_id_fields = ["user"]


@admin.register(TrustScore)
class TrustScoreAdmin(admin.ModelAdmin):
    list_display = ["contributor", "task_type", "score", "gold_seen", "gold_correct"]
    list_select_related = ["contributor"]
    raw_id_fields = ["contributor"]
