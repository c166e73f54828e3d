from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import path, reverse

from .importing import detect_format, import_items
from .models import Assignment, Campaign, Item
from .types import SchemaError


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "task_type", "status", "overlap", "priority", "created_at"]
    list_filter = ["status", "task_type", "organization"]
    list_select_related = ["organization"]
    search_fields = ["name"]
    change_form_template = "admin/tasks/campaign/change_form.html"

    def get_urls(self):
        return [
            path("<int:campaign_id>/import/", self.admin_site.admin_view(self.import_view), name="tasks_campaign_import"),
            *super().get_urls(),
        ]

    def import_view(self, request, campaign_id: int):
        campaign = self.get_object(request, str(campaign_id))
        if campaign is None or not self.has_change_permission(request, campaign):
            return redirect("admin:tasks_campaign_changelist")
        report = None
        if request.method == "POST" and request.FILES.get("file"):
            upload = request.FILES["file"]
            try:
                fmt = detect_format(upload.name)
                report = import_items(campaign=campaign, stream=upload.file, fmt=fmt)
            except SchemaError as exc:
                messages.error(request, exc.message)
            else:
                if report.ok:
                    messages.success(request, f"Imported {report.imported} items.")
                    return redirect(reverse("admin:tasks_campaign_change", args=[campaign.pk]))
        context = {**self.admin_site.each_context(request), "campaign": campaign, "report": report,
                   "opts": self.model._meta, "title": f"Import items into {campaign}"}
        return render(request, "admin/tasks/campaign/import.html", context)


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "external_id", "is_gold", "priority", "target_overlap", "done_count", "open_slots"]
    list_filter = ["is_gold"]
    list_select_related = ["campaign"]
    raw_id_fields = ["campaign"]
    show_full_result_count = False


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "item", "contributor", "state", "leased_at", "expires_at"]
    list_filter = ["state"]
    list_select_related = ["campaign", "contributor"]
    raw_id_fields = ["item", "campaign", "contributor"]
    show_full_result_count = False
