"""Organisation API: campaigns (CRUD, status, progress), their items (list, filter) and item imports.

Every query is scoped to the request's organisation: another organisation's campaign is 404.
Reads need the ``datasets:read`` scope, writes ``campaigns:manage``.
"""
from django.db import transaction
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, parsers, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from consensus.engine import delete_draft_campaign
from core.pagination import ConditionalListMixin, IdCursorPagination
from core.schema import SchemaError
from exports.services import parse_since
from organizations.access import Action
from organizations.permissions import HasOrganization
from tasks.import_jobs import error_report_csv, import_job_status, start_import_job
from tasks.models import Campaign, ImportJob, Item
from tasks.selectors import campaign_progress
from tasks.services import (
    create_campaign,
    transition_campaign,
    update_campaign_config,
    validate_campaign_settings,
)
from tasks.types import task_type_choices
from web.scoping import CampaignScopedMixin

SETTINGS_FIELDS = ["instructions", "overlap", "max_overlap", "gold_rate", "confidence_threshold", "lease_seconds",
                   "pay_per_task", "budget", "priority", "deadline", "min_trust", "min_verification_level",
                   "requires_qualification", "region_quotas", "profile_rules"]


class CampaignOut(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = ["id", "name", "task_type", "status", "config", *SETTINGS_FIELDS, "created_at", "updated_at",
                  "progress"]

    def get_progress(self, obj) -> dict:
        return campaign_progress(obj)


class CampaignIn(serializers.ModelSerializer):
    task_type = serializers.ChoiceField(choices=[])
    config = serializers.JSONField(required=False, default=dict)

    class Meta:
        model = Campaign
        fields = ["name", "task_type", "config", *SETTINGS_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["task_type"].choices = task_type_choices()

    def validate_config(self, value):
        return _config_object(value)


class CampaignPatch(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False,
                                     help_text="Lifecycle: draft → active ⇄ paused → completed → archived.")
    config = serializers.JSONField(required=False)

    class Meta:
        model = Campaign
        fields = ["name", "status", "config", *SETTINGS_FIELDS]
        extra_kwargs = {name: {"required": False} for name in ["name", *SETTINGS_FIELDS]}

    def validate_config(self, value):
        return _config_object(value)


def _config_object(value):
    if not isinstance(value, dict):
        raise serializers.ValidationError("The task configuration must be a JSON object.")
    return value


CAMPAIGN_EXAMPLE = {
    "id": 3, "name": "Kiểm duyệt bình luận", "task_type": "moderation", "status": "active",
    "config": {"categories": [{"key": "safe", "label": "An toàn"}, {"key": "spam", "label": "Spam"}]},
    "instructions": "## Hướng dẫn ...", "overlap": 3, "max_overlap": 5, "gold_rate": 0.05,
    "confidence_threshold": 0.7, "lease_seconds": 600, "pay_per_task": "500.00", "budget": None, "priority": 0,
    "deadline": None, "min_trust": 0.0, "min_verification_level": 2, "requires_qualification": False,
    "region_quotas": {"north": 40, "central": 30, "south": 30},
    "profile_rules": {"eligible": {"age_band": ["18-24", "25-34"]},
                      "quotas": {"gender": {"share": {"female": 50, "male": 50}}}}, "created_at": "2025-06-01T08:00:00+07:00",
    "updated_at": "2025-06-02T08:00:00+07:00",
    "progress": {"items": 1000, "annotations": 2400, "target_annotations": 3000, "items_complete": 700},
}


class OrgScoped(CampaignScopedMixin):
    permission_classes = [HasOrganization]

    required_action = {"read": Action.VIEW, "write": Action.MANAGE_CAMPAIGNS}


@extend_schema(tags=["campaigns"])
class CampaignList(OrgScoped, ConditionalListMixin, generics.ListCreateAPIView):
    serializer_class = CampaignOut
    pagination_class = IdCursorPagination

    def get_queryset(self):
        qs = Campaign.objects.filter(organization=self.request.organization).order_by("id")
        state = self.request.query_params.get("status")
        if state:
            if state not in Campaign.Status.values:
                raise exceptions.ValidationError({"status": [f"Unknown status; use one of {Campaign.Status.values}."]})
            qs = qs.filter(status=state)
        return qs

    @extend_schema(summary="List the organisation's campaigns", parameters=[
        OpenApiParameter("status", str, enum=Campaign.Status.values, description="Only campaigns in this state.")],
        examples=[OpenApiExample("A page", response_only=True, value={"next": None, "previous": None,
                                                                      "results": [CAMPAIGN_EXAMPLE]})])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a campaign (draft)", request=CampaignIn, responses={201: CampaignOut},
        examples=[OpenApiExample("Moderation campaign", request_only=True, value={
            "name": "Kiểm duyệt bình luận", "task_type": "moderation", "overlap": 3, "max_overlap": 5,
            "instructions": "## Hướng dẫn\n\nChọn một nhãn."}), OpenApiExample(
            "Created", response_only=True, status_codes=["201"], value={**CAMPAIGN_EXAMPLE, "status": "draft"})],
    )
    def post(self, request, *args, **kwargs):
        data = CampaignIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        creator = request.user if getattr(request.user, "pk", None) else None
        campaign = create_campaign(organization=request.organization, created_by=creator, **fields)
        return Response(CampaignOut(campaign).data, status=status.HTTP_201_CREATED,
                        headers={"Location": f"/api/v1/campaigns/{campaign.pk}/"})


@extend_schema(tags=["campaigns"])
class CampaignDetail(OrgScoped, APIView):
    @extend_schema(summary="One campaign with its progress counts", responses=CampaignOut,
                   examples=[OpenApiExample("Campaign", value=CAMPAIGN_EXAMPLE, response_only=True)])
    def get(self, request, campaign_id: int):
        return Response(CampaignOut(self.campaign()).data)

    @extend_schema(
        summary="Change a campaign's settings, configuration or status", request=CampaignPatch,
        responses={200: CampaignOut, 400: OpenApiResponse(description="Invalid change (field named)")},
        examples=[OpenApiExample("Activate", request_only=True, value={"status": "active"}),
                  OpenApiExample("Raise overlap", request_only=True, value={"overlap": 5, "max_overlap": 7})],
    )
    def patch(self, request, campaign_id: int):
        campaign = self.campaign()
        data = CampaignPatch(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        target = changes.pop("status", None)
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
            if "config" in changes:
                campaign.config = update_campaign_config(campaign=campaign, config=changes.pop("config"))
            for name, value in changes.items():
                setattr(campaign, name, value)
            validate_campaign_settings(campaign)
            campaign.save()
        if target and target != campaign.status:
            transition_campaign(campaign=campaign, to=target)
            campaign.refresh_from_db()
        return Response(CampaignOut(campaign).data)

    @extend_schema(summary="Delete a draft campaign that has no answers",
                   responses={204: None, 409: OpenApiResponse(description="Has answers, is not a draft, or is "
                                                                           "being re-scored")})
    def delete(self, request, campaign_id: int):
        refused = delete_draft_campaign(campaign=self.campaign())
        if refused:
            return Response({"error": {"status": 409, "code": "conflict", "field": "status", "message": refused}},
                            status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- items -----------------------------------------------------------------------------------------


class ItemOut(serializers.ModelSerializer):
    consensus_state = serializers.CharField(source="consensus_state_", default=None, allow_null=True)

    class Meta:
        model = Item
        fields = ["id", "external_id", "payload", "is_gold", "gold_answer", "priority", "target_overlap",
                  "done_count", "consensus_state", "created_at"]


def _bool_param(request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise exceptions.ValidationError({name: ["Use true or false."]})


ITEM_STATES = ["collecting", "needs_more", "finalised", "disputed", "none"]


@extend_schema(tags=["items"], summary="List a campaign's items", parameters=[
    OpenApiParameter("state", str, enum=ITEM_STATES, description="Consensus state; `none` = no answer scored yet."),
    OpenApiParameter("is_gold", bool), OpenApiParameter("external_id", str),
    OpenApiParameter("created_since", OpenApiTypes.DATETIME, description="ISO date or date-time."),
    OpenApiParameter("page_size", int, description="Up to 1000 (default 100)."),
], examples=[OpenApiExample("A page", response_only=True, value={"next": None, "previous": None, "results": [
    {"id": 88, "external_id": "post-88", "payload": {"text": "Bấm vào link này để nhận quà"}, "is_gold": False,
     "gold_answer": None, "priority": 0, "target_overlap": 3, "done_count": 3, "consensus_state": "finalised",
     "created_at": "2025-06-01T08:00:00+07:00"}]})])
class ItemList(OrgScoped, ConditionalListMixin, generics.ListAPIView):
    serializer_class = ItemOut
    pagination_class = IdCursorPagination
    last_modified_fields = ("created_at",)

    def get_queryset(self):

        campaign = self.campaign()
        qs = Item.objects.filter(campaign=campaign).annotate(consensus_state_=F("consensus__state")).order_by("id")
        params = self.request.query_params
        state = params.get("state")
        if state:
            if state not in ITEM_STATES:
                raise exceptions.ValidationError({"state": [f"Unknown state; use one of {ITEM_STATES}."]})
            qs = qs.filter(consensus__isnull=True) if state == "none" else qs.filter(consensus__state=state)
        gold = _bool_param(self.request, "is_gold")
        if gold is not None:
            qs = qs.filter(is_gold=gold)
        if params.get("external_id"):
            qs = qs.filter(external_id=params["external_id"])
        if params.get("created_since"):
            try:
                since = parse_since(params["created_since"])
            except SchemaError as exc:
                raise exceptions.ValidationError({"created_since": [exc.message]}) from exc
            qs = qs.filter(created_at__gte=since)
        return qs


# --- item import jobs ------------------------------------------------------------------------------


class ImportIn(serializers.Serializer):
    file = serializers.FileField(help_text="JSONL, CSV or Parquet; up to IMPORT_MAX_BYTES (1100 MiB by default).")
    format = serializers.ChoiceField(choices=["jsonl", "csv", "parquet"], required=False,
                                     help_text="Defaults to the file name's extension.")


class ImportJobOut(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ImportJob.Status.choices)
    format = serializers.CharField()
    file_name = serializers.CharField()
    size_bytes = serializers.IntegerField()
    bytes_read = serializers.IntegerField()
    progress = serializers.FloatField()
    lines_read = serializers.IntegerField()
    imported = serializers.IntegerField()
    error_count = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField(), help_text="The first 100 bad lines.")
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


IMPORT_EXAMPLE = {
    "id": 7, "campaign": 3, "status": "failed", "format": "jsonl", "file_name": "items.jsonl",
    "size_bytes": 1048576, "bytes_read": 1048576, "progress": 1.0, "lines_read": 5000, "imported": 0,
    "error_count": 1, "errors": [{"line": 1234, "field": "payload.text", "message": "This field is required."}],
    "message": "1 bad line(s); nothing was imported.", "created_at": "2025-06-01T08:00:00+07:00",
    "finished_at": "2025-06-01T08:00:03+07:00",
}


@extend_schema(tags=["items"])
class CampaignImports(OrgScoped, APIView):
    parser_classes = [parsers.MultiPartParser]

    @extend_schema(
        summary="Import items from a file (a Celery job)",
        description="Upload with multipart/form-data (`file`). Answers 202 with the job; poll "
        "`GET /api/v1/imports/{id}/`. The import is all or nothing: any bad line imports nothing and the "
        "report names every bad line (`GET /api/v1/imports/{id}/errors/` as CSV).",
        request={"multipart/form-data": ImportIn}, responses={202: ImportJobOut},
        examples=[OpenApiExample("Queued", response_only=True, status_codes=["202"], value={
            **IMPORT_EXAMPLE, "status": "pending", "progress": 0.0, "bytes_read": 0, "lines_read": 0,
            "error_count": 0, "errors": [], "message": "", "finished_at": None})],
    )
    def post(self, request, campaign_id: int):
        campaign = self.campaign()
        data = ImportIn(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        creator = request.user if getattr(request.user, "pk", None) else None
        job = start_import_job(campaign=campaign, file=upload, created_by=creator,
                               fmt=data.validated_data.get("format"), original_name=upload.name)
        return Response(import_job_status(job), status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/v1/imports/{job.pk}/"})

    @extend_schema(summary="A campaign's import jobs (newest first, at most 100)", responses=ImportJobOut(many=True),
                   examples=[OpenApiExample("Jobs", response_only=True, value=[{**IMPORT_EXAMPLE, "errors": []}])])
    def get(self, request, campaign_id: int):
        jobs = ImportJob.objects.filter(campaign=self.campaign()).order_by("-id")[:100]
        return Response([import_job_status(job, errors_limit=0) for job in jobs])


class ImportScoped(OrgScoped):
    def job(self) -> ImportJob:
        return get_object_or_404(ImportJob.objects.select_related("campaign"), pk=self.kwargs["job_id"],
                                 campaign__organization=self.request.organization)


@extend_schema(tags=["items"], summary="An import job's progress and report", responses=ImportJobOut,
               examples=[OpenApiExample("Failed with a bad line", value=IMPORT_EXAMPLE, response_only=True)])
class ImportDetail(ImportScoped, APIView):
    def get(self, request, job_id: int):
        return Response(import_job_status(self.job()))


@extend_schema(tags=["items"], summary="An import job's per-line error report (CSV)",
               responses={(200, "text/csv"): OpenApiTypes.STR},
               examples=[OpenApiExample("Report", response_only=True, media_type="text/csv",
                                        value="line,field,message\n1234,payload.text,This field is required.\n")])
class ImportErrors(ImportScoped, APIView):
    def get(self, request, job_id: int):
        job = self.job()
        response = HttpResponse(error_report_csv(job), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
        return response
