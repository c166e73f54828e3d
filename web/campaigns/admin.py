"""The managers' console for campaigns, items, assignments and import jobs.

Organisation scoping, estimated counts and 404s for other organisations' objects come from
web.console.OrgScopedAdminMixin. Writes go through tasks.services / tasks.import_jobs.
"""
from __future__ import annotations

import json
import random

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from annotations.models import Annotation
from assets.selectors import assignment_media_urls, media_url_ttl
from assets.zip_import import plan_zip_import
from audit.services import request_ip
from consensus.engine import delete_draft_campaign
from core.schema import SchemaError
from exports.layouts import supported_layouts
from exports.models import Export
from exports.services import export_progress, request_export
from organizations.access import Action, allows
from organizations.selectors import organizations_for_user
from tasks import services
from tasks.import_jobs import error_report_csv, start_import_job
from tasks.import_jobs import import_job_status as api_status
from tasks.importing import detect_format, omitted_note
from tasks.models import Assignment, Campaign, ImportJob, Item
from tasks.types import all_task_types, get_task_type
from web.campaigns.views import labeler_config, render_instructions
from web.console import CampaignListFilter, OrgScopedAdminMixin
from web.review.forms import QUOTA_PREFIX, campaign_form_for


class DeleteRefused(Exception):
    """consensus.engine.delete_draft_campaign said no: the admin's delete transaction is rolled back."""


def _json_pretty(value) -> str:
    return format_html("<pre class=\"console-json\">{}</pre>", json.dumps(value, ensure_ascii=False, indent=2))


def start_admin_import(*, campaign: Campaign, upload, user) -> ImportJob:
    """Start an item import from an uploaded file (JSONL/CSV/Parquet, or a zip of media + manifest).

    Files go through the same import job as the API (tasks.import_jobs.start_import_job); a zip is
    checked and its media stored first (assets.zip_import), and its errors land in a failed job so
    the manager reads them on the same report page.
    """

    name = upload.name or "upload"
    if name.lower().endswith(".zip"):

        plan = plan_zip_import(campaign=campaign, stream=upload.file, uploaded_by=user)
        if plan.error_count:
            return ImportJob.objects.create(
                campaign=campaign, created_by=user, original_name=name, format="zip",
                status=ImportJob.Status.FAILED, size_bytes=upload.size or 0, error_count=plan.error_count,
                errors=[e.as_dict() for e in plan.errors],
                message=_("Nothing was imported: fix the zip and upload it again.")
                + omitted_note(plan.error_count, len(plan.errors)),
            )
        manifest = ContentFile(plan.jsonl, name=f"{name}.manifest.jsonl")
        return start_import_job(campaign=campaign, file=manifest, original_name=name, fmt="jsonl", created_by=user)
    fmt = detect_format(name)
    return start_import_job(campaign=campaign, file=upload, original_name=name, fmt=fmt, created_by=user)


@admin.register(Campaign)
class CampaignAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "organization", "task_type_label", "status_badge", "overlap", "priority", "deadline",
                    "console_links"]
    list_filter = ["status", "task_type", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization"]
    search_fields = ["name"]
    readonly_fields = ["status", "created_by", "created_at", "instructions_preview"]
    change_form_template = "admin/tasks/campaign/change_form.html"
    actions = ["activate", "pause", "complete", "archive"]

    class Media:
        js = ["console/campaign_form.js"]
        css = {"all": ["console/console.css"]}

    # --- the form: built from the task type's config schema ------------------------------------
    def _task_type_for(self, request, obj) -> str:
        if obj is not None and obj.pk:
            return obj.task_type
        key = request.POST.get("task_type") or request.GET.get("task_type")
        keys = [t.key for t in all_task_types()]
        return key if key in keys else keys[0]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = campaign_form_for(self._task_type_for(request, obj))
        form = super().get_form(request, obj, change, **kwargs)
        # The split date and time boxes each need a name of their own: the field's label names only the first.
        deadline = form.base_fields.get("deadline")
        if deadline is not None and hasattr(deadline.widget, "widgets"):
            deadline.widget.widgets[0].attrs["aria-label"] = _("Deadline date")
            deadline.widget.widgets[1].attrs["aria-label"] = _("Deadline time")
        return form

    def get_fieldsets(self, request, obj=None):
        form = campaign_form_for(self._task_type_for(request, obj))
        config_names = [spec.form_name for spec in form.config_fields]
        quota_names = [n for n in form.base_fields if n.startswith(QUOTA_PREFIX)]
        general = ["organization", "name", "task_type", "status"] if obj is None else ["organization", "name",
                                                                                        "status"]
        if obj is None:
            general.remove("status")
        instructions = ["instructions"] + (["instructions_preview"] if obj is not None else [])
        return [
            (None, {"fields": general}),
            (_("Instructions"), {"fields": instructions}),
            (_("Task settings (%(type)s)") % {"type": get_task_type(form.task_type_key).label},
             {"fields": config_names, "description": _("Labels, rubrics and options of this task type.")}),
            (_("Answers per item and quality"), {"fields": ["overlap", "max_overlap", "gold_rate",
                                                            "confidence_threshold"]}),
            (_("Who may work"), {"fields": ["min_verification_level", "requires_qualification", "min_trust",
                                            *quota_names, "profile_rules"]}),
            (_("Scheduling and pay"), {"fields": ["priority", "deadline", "lease_seconds", "pay_per_task",
                                                  "budget"]}),
            # "Record" the noun (who created the campaign, when), not the verb of the speech recorder.
            (pgettext("campaign admin section", "Record"), {"fields": ["created_by", "created_at"],
                                                            "classes": ["collapse"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("task_type")
        return fields

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        orgs = self.formfield_for_foreignkey(Campaign._meta.get_field("organization"), request).queryset
        if "organization" not in initial and orgs.count() == 1:
            initial["organization"] = orgs.first().pk
        initial.setdefault("task_type", self._task_type_for(request, None))
        initial.setdefault("instructions", _(
            "## What to do\n\nDescribe the task in one or two sentences.\n\n"
            "## Examples\n\n- **Good answer:** …, because …\n- **Wrong answer:** …, because …\n"))
        return initial

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # collecting a big campaign's rows would take the page down
        return actions

    def has_delete_permission(self, request, obj=None):
        """Only drafts nobody has answered can be deleted; anything else is archived instead."""
        if not super().has_delete_permission(request, obj):
            return False
        if obj is None:
            return True

        return obj.status == Campaign.Status.DRAFT and not Annotation.objects.filter(campaign=obj).exists()

    def delete_model(self, request, obj):
        """The API's delete (consensus.engine.delete_draft_campaign): the row locked against a re-score job,
        refused while one is queued or running, or when answers arrived since the page was shown."""
        try:
            refused = delete_draft_campaign(campaign=obj)
        except Campaign.DoesNotExist:
            raise Http404("No such campaign.") from None
        if refused:
            raise DeleteRefused(refused)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DeleteRefused as refused:  # raised inside the view's transaction: its log entry is rolled back
            self.message_user(request, str(refused), messages.ERROR)
            return redirect(f"{self.admin_site.name}:tasks_campaign_change", object_id)

    @admin.display(description=gettext_lazy("instructions as contributors see them"))
    def instructions_preview(self, obj):
        return format_html('<div class="console-instructions">{}</div>', render_instructions(obj.instructions))

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, obj):
        return format_html('<span class="console-status console-status-{}">{}</span>', obj.status,
                           obj.get_status_display())

    def get_list_display(self, request):
        """The organisation column only for someone who sees several: at 1366 px it pushed the console
        links off the right edge of a single organisation's list (issue #20)."""
        columns = super().get_list_display(request)
        if not request.user.is_superuser and organizations_for_user(request.user).count() <= 1:
            columns = [c for c in columns if c != "organization"]
        return columns

    @admin.display(description=gettext_lazy("task type"), ordering="task_type")
    def task_type_label(self, obj):
        """The type's name as managers read it, which wraps (a raw key such as speech_transcription does not)."""
        try:
            return get_task_type(obj.task_type).label or obj.task_type
        except SchemaError:  # a type removed since the campaign was made
            return obj.task_type

    @admin.display(description=gettext_lazy("console"))
    def console_links(self, obj):
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("review:dashboard", args=[obj.pk]), _("Dashboard"),
            reverse("admin:tasks_campaign_import", args=[obj.pk]), _("Import"),
            reverse("review:queue") + f"?campaign={obj.pk}", _("Review"),
        )

    # --- lifecycle ----------------------------------------------------------------------------------
    def _transition_many(self, request, queryset, to: str):
        for campaign in queryset:
            try:
                services.transition_campaign(campaign=campaign, to=to)
            except SchemaError as exc:
                messages.error(request, f"{campaign}: {exc.message}")
            else:
                messages.success(request, _("%(campaign)s is now %(status)s.") % {
                    "campaign": campaign, "status": campaign.get_status_display()})

    @admin.action(description=gettext_lazy("Activate selected campaigns"), permissions=["change"])
    def activate(self, request, queryset):
        self._transition_many(request, queryset, Campaign.Status.ACTIVE)

    @admin.action(description=gettext_lazy("Pause selected campaigns"), permissions=["change"])
    def pause(self, request, queryset):
        self._transition_many(request, queryset, Campaign.Status.PAUSED)

    @admin.action(description=gettext_lazy("Mark selected campaigns completed"), permissions=["change"])
    def complete(self, request, queryset):
        self._transition_many(request, queryset, Campaign.Status.COMPLETED)

    @admin.action(description=gettext_lazy("Archive selected campaigns"), permissions=["change"])
    def archive(self, request, queryset):
        self._transition_many(request, queryset, Campaign.Status.ARCHIVED)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        campaign = self.get_object(request, object_id)
        if campaign is not None:
            extra_context["transitions"] = [
                (to, Campaign.Status(to).label) for to in services.CAMPAIGN_TRANSITIONS.get(campaign.status, ())
            ]
            if campaign.status == Campaign.Status.DRAFT:
                extra_context["activation_problems"] = services.campaign_activation_problems(campaign)
        return super().change_view(request, object_id, form_url, extra_context)

    # --- console pages --------------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:campaign_id>/transition/", view(self.transition_view), name="tasks_campaign_transition"),
            path("<int:campaign_id>/import/", view(self.import_view), name="tasks_campaign_import"),
            path("<int:campaign_id>/import/dataset/", view(self.dataset_import_view),
                 name="tasks_campaign_dataset_import"),
            path("<int:campaign_id>/import/<int:job_id>/", view(self.import_job_view),
                 name="tasks_campaign_import_job"),
            path("<int:campaign_id>/import/<int:job_id>/status.json", view(self.import_status_view),
                 name="tasks_campaign_import_status"),
            path("<int:campaign_id>/import/<int:job_id>/report.csv", view(self.import_report_view),
                 name="tasks_campaign_import_report"),
            path("<int:campaign_id>/export/", view(self.export_view), name="tasks_campaign_export"),
            path("<int:campaign_id>/export/<int:export_id>/status.json", view(self.export_status_view),
                 name="tasks_campaign_export_status"),
            path("<int:campaign_id>/preview/", view(self.preview_view), name="tasks_campaign_preview"),
            path("<int:campaign_id>/preview/next/", view(self.preview_next_view), name="tasks_campaign_preview_next"),
            path("<int:campaign_id>/preview/answer/<int:assignment_id>/", view(self.preview_answer_view),
                 name="tasks_campaign_preview_answer"),
            path("<int:campaign_id>/preview/release/<int:assignment_id>/", view(self.preview_release_view),
                 name="tasks_campaign_preview_release"),
            path("<int:campaign_id>/preview/media/<int:assignment_id>/", view(self.preview_media_view),
                 name="tasks_campaign_preview_media"),
            *super().get_urls(),
        ]

    def _campaign(self, request, campaign_id: int, *, change: bool = False) -> Campaign:
        campaign = self.get_object(request, str(campaign_id))
        if campaign is None:
            raise Http404("No such campaign.")
        allowed = self.has_change_permission(request, campaign) if change else self.has_view_permission(
            request, campaign)
        if not allowed:
            raise Http404("No such campaign.")
        return campaign

    def _context(self, request, campaign, title: str, **extra) -> dict:
        return {**self.admin_site.each_context(request), "opts": self.model._meta, "campaign": campaign,
                "original": campaign, "title": title, **extra}

    def transition_view(self, request, campaign_id: int):
        if request.method != "POST":
            return redirect("admin:tasks_campaign_change", campaign_id)
        campaign = self._campaign(request, campaign_id, change=True)
        to = request.POST.get("to", "")
        try:
            services.transition_campaign(campaign=campaign, to=to)
        except SchemaError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The campaign is now %(status)s.") % {"status": campaign.get_status_display()})
        return redirect("admin:tasks_campaign_change", campaign.pk)

    def import_view(self, request, campaign_id: int):
        campaign = self._campaign(request, campaign_id, change=True)
        if request.method == "POST":
            upload = request.FILES.get("file")
            if upload is None:
                messages.error(request, _("Choose a file to import."))
            else:
                try:
                    job = start_admin_import(campaign=campaign, upload=upload, user=request.user)
                except SchemaError as exc:
                    messages.error(request, f"{exc.field}: {exc.message}" if exc.field else exc.message)
                else:
                    return redirect("admin:tasks_campaign_import_job", campaign.pk, job.pk)
        jobs = ImportJob.objects.filter(campaign=campaign).order_by("-id")[:20]
        return render(request, "admin/tasks/campaign/import.html",
                      self._context(request, campaign, _("Import items into %(c)s") % {"c": campaign}, jobs=jobs,
                                    dataset_formats=campaign.task.dataset_import_formats))

    def dataset_import_view(self, request, campaign_id: int):
        """The import API's dataset upload (TaskType.import_dataset) for a project manager: all or nothing,
        the refusal shown naming the file and object."""
        campaign = self._campaign(request, campaign_id, change=True)
        if request.method != "POST":
            return redirect("admin:tasks_campaign_import", campaign.pk)
        task, fmt = campaign.task, request.POST.get("format", "")
        annotations = request.FILES.get("annotations")
        if fmt not in task.dataset_import_formats or annotations is None:
            messages.error(request, _("Choose a dataset format and its annotation file."))
            return redirect("admin:tasks_campaign_import", campaign.pk)
        try:
            n = task.import_dataset(campaign=campaign, fmt=fmt, annotations=annotations,
                                    annotations_name=annotations.name, media=request.FILES.get("images"),
                                    uploaded_by=request.user)
        except SchemaError as exc:
            messages.error(request, _("Nothing was imported. %(where)s: %(why)s") % {"where": exc.field,
                                                                                  "why": exc.message})
        else:
            messages.success(request, ngettext("%(n)d pre-annotated item imported.",
                                               "%(n)d pre-annotated items imported.", n) % {"n": n})
        return redirect("admin:tasks_campaign_import", campaign.pk)

    def _job(self, request, campaign_id: int, job_id: int) -> tuple[Campaign, ImportJob]:
        campaign = self._campaign(request, campaign_id)
        job = ImportJob.objects.filter(pk=job_id, campaign=campaign).first()
        if job is None:
            raise Http404("No such import.")
        return campaign, job

    def import_job_view(self, request, campaign_id: int, job_id: int):
        campaign, job = self._job(request, campaign_id, job_id)
        status = import_job_status(job)
        return render(request, "admin/tasks/campaign/import_job.html", self._context(
            request, campaign, _("Import %(name)s") % {"name": job.original_name or job.pk}, job=job,
            job_status=status,
            status_url=reverse("admin:tasks_campaign_import_status", args=[campaign.pk, job.pk])))

    def import_status_view(self, request, campaign_id: int, job_id: int):
        _campaign, job = self._job(request, campaign_id, job_id)
        return JsonResponse(import_job_status(job))

    def import_report_view(self, request, campaign_id: int, job_id: int):
        _campaign, job = self._job(request, campaign_id, job_id)

        response = HttpResponse("\ufeff" + error_report_csv(job), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
        return response

    # --- exports: the API's export engine (exports.services.request_export) ------------------------------
    def export_view(self, request, campaign_id: int):

        campaign = self._campaign(request, campaign_id)
        layouts = sorted(supported_layouts(campaign.task))
        may_export = allows(request.user, Action.EXPORT, campaign.organization_id)
        if request.method == "POST":
            if not may_export:
                raise PermissionDenied("Your role may not export this organisation's data.")
            filters = {"finalised_only": request.POST.get("finalised_only") == "1"}
            if request.POST.get("min_agreement", "").strip():
                filters["min_agreement"] = request.POST["min_agreement"].strip()
            try:
                request_export(campaign=campaign, fmt=request.POST.get("format", ""),
                               layout=request.POST.get("layout", ""), filters=filters, created_by=request.user,
                               ip=request_ip(request))
            except SchemaError as exc:
                messages.error(request, f"{exc.field}: {exc.message}" if exc.field else exc.message)
            else:
                messages.success(request, _("The export is being built; this page shows its progress."))
            return redirect("admin:tasks_campaign_export", campaign.pk)
        exports = [export_status(e) for e in Export.objects.filter(campaign=campaign).order_by("-id")[:20]]
        return render(request, "admin/tasks/campaign/export.html", self._context(
            request, campaign, _("Export %(c)s") % {"c": campaign}, layouts=layouts, exports=exports, may_export=may_export,
            formats=[*Export.Format.choices, *((t.format, t.format) for layout in
                                                supported_layouts(campaign.task).values() for t in layout.trees)],
            status_urls=[reverse("admin:tasks_campaign_export_status", args=[campaign.pk, e["id"]])
                         for e in exports if not e["finished"]]))

    def export_status_view(self, request, campaign_id: int, export_id: int):

        campaign = self._campaign(request, campaign_id)
        export = Export.objects.filter(pk=export_id, campaign=campaign).first()
        if export is None:
            raise Http404("No such export.")
        return JsonResponse(export_status(export))

    # --- preview as contributor: the real labelling page, nothing leased or stored ----------------------
    def preview_view(self, request, campaign_id: int):
        campaign = self._campaign(request, campaign_id)
        task = campaign.task
        config = labeler_config(request, campaign)
        config["preview"] = True
        config["userId"] = f"preview-{request.user.pk}"
        config["urls"] = {
            "next": reverse("admin:tasks_campaign_preview_next", args=[campaign.pk]),
            "submit": reverse("admin:tasks_campaign_preview_answer", args=[campaign.pk, 0]),
            "skip": reverse("admin:tasks_campaign_preview_release", args=[campaign.pk, 0]),
            "report": reverse("admin:tasks_campaign_preview_release", args=[campaign.pk, 0]),
        }
        request.session[f"preview:{campaign.pk}"] = 0
        return TemplateResponse(request, "admin/tasks/campaign/preview.html", {
            "campaign": campaign,
            "task": task,
            "blocked": "",
            "preview": True,
            "instructions_html": render_instructions(campaign.instructions),
            "labeler_config": config,
            "change_url": reverse("admin:tasks_campaign_change", args=[campaign.pk]),
            # Media types fetch signed URLs per assignment; the preview serves the sample's instead.
            "preview_config": {"mediaUrl": reverse("admin:tasks_campaign_preview_media", args=[campaign.pk, 0])},
        })

    def preview_next_view(self, request, campaign_id: int):
        campaign = self._campaign(request, campaign_id)
        payload, source = sample_payload(campaign, request.session.get(f"preview:{campaign.pk}", 0))
        request.session[f"preview:{campaign.pk}"] = request.session.get(f"preview:{campaign.pk}", 0) + 1
        if payload is None:
            return JsonResponse({"assignment": None, "code": "empty",
                                 "reason": _("No sample item: import items to preview them.")})
        view = campaign.task.prepare_view(item_payload=payload, config=campaign.config, rng=random.Random())
        request.session[f"preview:{campaign.pk}:payload"] = payload
        return JsonResponse({"assignment": {"id": 1, "campaign": campaign.pk, "task_type": campaign.task_type,
                                            "item": {"id": source, "payload": payload}, "view": view,
                                            "expires_at": None}, "code": "ok", "reason": ""})

    def preview_answer_view(self, request, campaign_id: int, assignment_id: int):
        campaign = self._campaign(request, campaign_id)
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = {}
        try:
            campaign.task.validate_annotation(body.get("payload"), config=campaign.config, item_payload={},
                                              view={})
        except SchemaError as exc:
            return JsonResponse({"error": {"status": 400, "code": "invalid", "message": exc.message,
                                           "field": exc.field}}, status=400)
        except Exception as exc:  # noqa: BLE001 - a type's validator may need the real item; a preview says so
            return JsonResponse({"error": {"status": 400, "code": "invalid", "message": str(exc)[:300],
                                           "field": ""}}, status=400)
        return JsonResponse({"annotation_id": 0, "assignment_id": 0, "replayed": False, "preview": True})

    def preview_release_view(self, request, campaign_id: int, assignment_id: int):
        self._campaign(request, campaign_id)
        return JsonResponse({"preview": True})

    def preview_media_view(self, request, campaign_id: int, assignment_id: int):
        """Signed URLs for the media of the sample being previewed (what the assets app gives a contributor
        for their assignment), checked against the campaign's organisation like theirs."""

        campaign = self._campaign(request, campaign_id)
        payload = request.session.get(f"preview:{campaign.pk}:payload") or {}
        sample = Assignment(campaign=campaign, item=Item(campaign=campaign, payload=payload))
        return JsonResponse({"media": assignment_media_urls(sample, user_id=request.user.pk),
                             "expires_in": media_url_ttl()})


def export_status(export) -> dict:
    """An export's progress and download link, for the export page and its poller."""

    done = export.status in ("succeeded", "failed")
    rows = export_progress(export)
    return {
        "id": export.pk, "status": export.status, "status_label": export.get_status_display(),
        "finished": done, "layout": export.layout, "format": export.format, "rows": rows,
        "percent": 100 if done else (int(100 * rows / export.rows_expected) if export.rows_expected else 0),
        "error": export.error,
        "download": reverse("export-download", args=[export.pk]) if export.status == "succeeded" else "",
    }


def sample_payload(campaign: Campaign, index: int):
    """The n-th sample item of a campaign (non-gold first), or the task type's demo item."""
    ids = list(Item.objects.filter(campaign=campaign).order_by("is_gold", "id").values_list("id", flat=True)[:20])
    if ids:
        item = Item.objects.only("payload").get(pk=ids[index % len(ids)])
        return item.payload, item.pk
    for demo in campaign.task.demo():
        if demo.items:
            return demo.items[index % len(demo.items)]["payload"], 0
    return None, 0


def import_job_status(job: ImportJob) -> dict:
    """The API's job status (tasks.import_jobs) plus what the admin's progress bar shows."""

    status = api_status(job, errors_limit=200)
    finished = job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED)
    return {
        **{k: v for k, v in status.items() if k not in ("created_at", "finished_at")},
        "status_label": job.get_status_display(),
        "finished": finished,
        "percent": 100 if finished else int(100 * status["progress"]),
    }


@admin.register(Item)
class ItemAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    list_display = ["id", "campaign", "external_id", "short_payload", "is_gold", "priority", "target_overlap",
                    "done_count", "open_slots", "consensus_state"]
    list_filter = [CampaignListFilter, "is_gold"]
    list_select_related = ["campaign", "consensus"]
    raw_id_fields = ["campaign", "source_contributor"]
    search_fields = ["=id", "=external_id"]
    readonly_fields = ["payload_pretty", "gold_pretty", "leased_count", "done_count", "open_slots", "created_at"]
    exclude = ["payload", "gold_answer"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        query = Q(external_id=term)
        if term.isdigit():
            query |= Q(pk=int(term))
        return queryset.filter(query), False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        """An item can go only while its campaign is a draft (answers and counters depend on it)."""
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or (obj.campaign.status == Campaign.Status.DRAFT and obj.done_count == 0)

    @admin.display(description=gettext_lazy("payload"))
    def short_payload(self, obj):
        return json.dumps(obj.payload, ensure_ascii=False)[:120]

    @admin.display(description=gettext_lazy("consensus"))
    def consensus_state(self, obj):
        consensus = getattr(obj, "consensus", None)
        return consensus.get_state_display() if consensus else "-"

    @admin.display(description=gettext_lazy("payload"))
    def payload_pretty(self, obj):
        return _json_pretty(obj.payload)

    @admin.display(description=gettext_lazy("gold answer"))
    def gold_pretty(self, obj):
        return _json_pretty(obj.gold_answer) if obj.gold_answer is not None else "-"


@admin.register(Assignment)
class AssignmentAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    list_display = ["id", "campaign", "item_id", "contributor", "state", "leased_at", "expires_at", "finished_at"]
    list_filter = [CampaignListFilter, "state"]
    list_select_related = ["campaign", "contributor"]
    raw_id_fields = ["item", "campaign", "contributor"]
    readonly_fields = ["leased_at", "expires_at", "finished_at", "view", "reason"]

    def has_add_permission(self, request):
        return False  # leases come from the queue only

    def has_delete_permission(self, request, obj=None):
        return False  # item counters depend on assignments; leases expire or are skipped, never deleted


@admin.register(ImportJob)
class ImportJobAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    list_display = ["id", "campaign", "original_name", "format", "status", "imported", "error_count", "created_at",
                    "report_link"]
    list_filter = [CampaignListFilter, "status", "format"]
    list_select_related = ["campaign", "created_by"]
    raw_id_fields = ["campaign", "created_by"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request):
        return False  # imports start from the campaign's import page

    @admin.display(description=gettext_lazy("report"))
    def report_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:tasks_campaign_import_job",
                                                          args=[obj.campaign_id, obj.pk]), _("open"))

