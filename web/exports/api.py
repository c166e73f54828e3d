"""Organisation API: dataset exports (request, status, download) and webhooks."""
import base64

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Action as Audit
from audit.services import record, request_ip
from core.api_errors import ErrorBody, error_example
from core.pagination import ConditionalListMixin, IdCursorPagination
from exports.layouts import supported_layouts
from exports.models import Export, Webhook, WebhookDelivery
from exports.selectors import exports_for
from exports.services import export_file_path, export_progress, request_export
from exports.webhooks import UnsafeURL, check_url
from organizations.access import Action
from organizations.models import ApiToken
from organizations.permissions import HasOrganization
from web.scoping import CampaignScopedMixin, organization_campaign


class NotReady(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This export is not ready yet."
    default_code = "not_ready"


class ExportIn(serializers.Serializer):
    format = serializers.CharField(
        default="jsonl", max_length=16,
        help_text="jsonl, parquet or csv; or a file-tree format of the layout (see export-layouts: `formats`), "
        "e.g. coco, yolo-detect, yolo-segment, yolo-pose or voc for image_objects.")
    layout = serializers.CharField(default="raw", max_length=20)
    finalised_only = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text="Only items whose consensus is finalised. Default: true for the training layouts dpo, reward "
        "and sft, false otherwise; the dataset card states the choice and the campaign's threshold.")
    min_agreement = serializers.FloatField(required=False, allow_null=True, min_value=0.0, max_value=1.0)
    since = serializers.CharField(required=False, allow_blank=True, max_length=40,
                                  help_text="ISO date or date-time: only rows created/updated since then.")
    license = serializers.CharField(required=False, allow_blank=True, max_length=64,
                                    help_text="SPDX licence id for the dataset card, e.g. cc-by-4.0.")
    split = serializers.DictField(
        required=False, default=dict,
        help_text='Ratios and options, e.g. {"train": 0.8, "validation": 0.1, "test": 0.1, "seed": 42}; '
        '"by": "speaker" for speech.',
    )


class ExportOut(serializers.ModelSerializer):
    campaign = serializers.IntegerField(source="campaign_id")
    progress = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = ["id", "campaign", "status", "format", "layout", "filters", "split", "rows_written",
                  "rows_expected", "progress", "size_bytes", "sha256", "files", "stats", "error", "download_url",
                  "created_at", "started_at", "finished_at"]

    def get_progress(self, obj) -> float:
        if obj.status == Export.Status.SUCCEEDED:
            return 1.0
        if not obj.rows_expected:
            return 0.0
        return round(min(1.0, export_progress(obj) / obj.rows_expected), 4)

    def get_download_url(self, obj) -> str | None:
        if obj.status != Export.Status.SUCCEEDED:
            return None
        request = self.context.get("request")
        url = f"/api/v1/exports/{obj.pk}/download/"
        return request.build_absolute_uri(url) if request else url


EXPORT_EXAMPLE = {
    "id": 12, "campaign": 3, "status": "succeeded", "format": "parquet", "layout": "dpo",
    "filters": {"finalised_only": True, "min_agreement": 0.6}, "split": {"ratios": {"train": 0.9, "test": 0.1},
                                                                         "by": "item", "seed": 42},
    "rows_written": 48210, "rows_expected": 50000, "progress": 1.0, "size_bytes": 10485760,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "files": [{"name": "data/train.parquet", "split": "train", "rows": 43390, "bytes": 9000000,
               "sha256": "..."}],
    "stats": {"rows_per_split": {"train": 43390, "test": 4820}}, "error": "",
    "download_url": "https://annotate.example/api/v1/exports/12/download/",
    "created_at": "2025-06-01T08:00:00+07:00", "started_at": "2025-06-01T08:00:01+07:00",
    "finished_at": "2025-06-01T08:00:09+07:00",
}


class ExportScoped:
    permission_classes = [HasOrganization]
    required_action = {"read": Action.VIEW, "write": Action.EXPORT}


@extend_schema(tags=["exports"])
class CampaignExports(CampaignScopedMixin, ExportScoped, ConditionalListMixin, generics.ListCreateAPIView):
    serializer_class = ExportOut
    pagination_class = IdCursorPagination


    def get_queryset(self):
        return exports_for(self.request.organization).filter(campaign=self.campaign())

    @extend_schema(summary="List a campaign's exports", examples=[OpenApiExample(
        "A page", response_only=True, value={"next": None, "previous": None, "results": [EXPORT_EXAMPLE]})])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Request an export",
        description=(
            "Queues an export built by the export worker and answers 202 with its id. Layouts depend on the "
            "campaign's task type (`raw` always; `dpo`/`reward` for rlhf, `sft`, `hallucination`, `ocr`, "
            "`speech`, `moderation`, `image_objects`). The archive holds README.md (dataset card), "
            "`data/<split>.<format>` and, for OCR, speech and images, `media/`. A layout may also be written as a "
            "file tree its training tools read (`image_objects`: `coco`, `yolo-detect`, `yolo-segment`, "
            "`yolo-pose`, `voc`), one train split with the images beside it. Same filters and seed give the same "
            "data files, byte for byte."
        ),
        request=ExportIn,
        responses={202: ExportOut, 400: OpenApiResponse(ErrorBody, description="Invalid request (field named)",
                                                        examples=[OpenApiExample("Bad layout", value=error_example(
                                                            400, "invalid", "The moderation task type exports the "
                                                            "layouts: moderation, raw.", "layout"))]),
                   404: OpenApiResponse(ErrorBody, description="No such campaign in your organisation")},
        examples=[
            OpenApiExample("DPO pairs as Parquet, 90/10 split", request_only=True, value={
                "format": "parquet", "layout": "dpo", "finalised_only": True, "min_agreement": 0.6,
                "split": {"train": 0.9, "test": 0.1, "seed": 42}}),
            OpenApiExample("An image campaign as COCO", request_only=True, value={
                "format": "coco", "layout": "image_objects", "finalised_only": False}),
            OpenApiExample("Incremental raw JSONL", request_only=True, value={
                "format": "jsonl", "layout": "raw", "since": "2025-06-01T00:00:00+07:00"}),
            OpenApiExample("Accepted", response_only=True, status_codes=["202"],
                           value={**EXPORT_EXAMPLE, "status": "pending", "progress": 0.0, "sha256": "",
                                  "download_url": None}),
        ],
    )
    def post(self, request, *args, **kwargs):
        campaign = self.campaign()
        data = ExportIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        token = request.auth if isinstance(request.auth, ApiToken) else None
        export = request_export(
            campaign=campaign, fmt=v["format"], layout=v["layout"],
            filters={"finalised_only": v.get("finalised_only"), "min_agreement": v.get("min_agreement"),
                     "since": v.get("since"), "license": v.get("license")},
            split=v["split"], created_by=request.user if token is None else None, token=token,
            ip=request_ip(request),
        )
        export.refresh_from_db()
        return Response(ExportOut(export, context={"request": request}).data, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/v1/exports/{export.pk}/"})


@extend_schema(tags=["exports"], summary="List the organisation's exports",
               examples=[OpenApiExample("A page", response_only=True,
                                        value={"next": None, "previous": None, "results": [EXPORT_EXAMPLE]})])
class ExportList(ExportScoped, ConditionalListMixin, generics.ListAPIView):
    serializer_class = ExportOut
    pagination_class = IdCursorPagination

    def get_queryset(self):
        return exports_for(self.request.organization)


@extend_schema(tags=["exports"], summary="An export's status and progress",
               examples=[OpenApiExample("Ready", value=EXPORT_EXAMPLE, response_only=True)])
class ExportDetail(ExportScoped, generics.RetrieveAPIView):
    serializer_class = ExportOut
    lookup_url_kwarg = "export_id"

    def get_queryset(self):
        return exports_for(self.request.organization)


@extend_schema(
    tags=["exports"], summary="Download an export (zip: README.md, data files, media)",
    description="Streams the archive. `X-Checksum-SHA256` and `Digest` carry its SHA-256; 409 while it is "
    "still being built.",
    responses={
        (200, "application/zip"): OpenApiTypes.BINARY,
        409: OpenApiResponse(ErrorBody, description="Not ready yet", examples=[OpenApiExample(
            "Still running", value=error_example(409, "not_ready", "This export is running; download it when "
                                                 "its status is succeeded."))]),
        404: OpenApiResponse(ErrorBody, description="No such export in your organisation", examples=[
            OpenApiExample("Not found", value=error_example(404, "not_found", "Not found."))]),
    },
)
class ExportDownload(ExportScoped, APIView):
    required_action = Action.EXPORT  # the data itself leaves: not a view-only role's

    def get(self, request, export_id: int):
        export = get_object_or_404(exports_for(request.organization), pk=export_id)
        if export.status != Export.Status.SUCCEEDED:
            raise NotReady(f"This export is {export.status}; download it when its status is succeeded.")
        path = export_file_path(export)
        if path is None:
            raise exceptions.NotFound("The export file is gone; request a new export.")
        response = FileResponse(open(path, "rb"), as_attachment=True, filename=export.download_name,  # noqa: SIM115
                                content_type="application/zip")
        response["X-Checksum-SHA256"] = export.sha256
        record(action=Audit.EXPORT_DOWNLOADED, by=request.user, ip=request_ip(request),
               organization=request.organization, target=f"exports.export:{export.pk}")
        response["Digest"] = "sha-256=" + base64.b64encode(bytes.fromhex(export.sha256)).decode()
        response["ETag"] = f'"{export.sha256}"'
        return response


@extend_schema(tags=["exports"], summary="Layouts a campaign can be exported in",
               responses=inline_serializer("Layouts", {"layouts": serializers.ListField(child=serializers.DictField())}),
               examples=[OpenApiExample("An RLHF campaign", response_only=True, value={"layouts": [
                   {"name": "raw", "unit": "annotation", "columns": ["annotation_id", "item_id", "..."],
                    "description": "Every annotation with its contributor pseudonym and a telemetry summary.",
                    "media": False, "split_group": "item"},
                   {"name": "dpo", "unit": "item", "columns": ["prompt", "chosen", "rejected", "margin", "..."],
                    "description": "prompt / chosen / rejected / margin (TRL DPO).", "media": False,
                    "split_group": "item"}]})])
class CampaignLayouts(ExportScoped, APIView):
    def get(self, request, campaign_id: int):
        campaign = organization_campaign(request, campaign_id)
        return Response({"layouts": [
            {"name": layout.name, "unit": layout.unit, "columns": layout.columns, "description": layout.description,
             "media": layout.has_media, "split_group": layout.group,
             "formats": [*Export.Format.values, *(t.format for t in layout.trees)]}
            for layout in supported_layouts(campaign.task).values()
        ]})


# --- webhooks ---------------------------------------------------------------------------------------


class WebhookSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=Webhook.Event.choices), required=False,
                                   help_text="Events to receive; empty means all.")

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_url(self, value: str) -> str:
        try:
            check_url(value)
        except UnsafeURL as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="HMAC key, shown once. Verify X-Webhook-Signature.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "event", "object_id", "status", "attempts", "last_status_code", "last_error", "created_at",
                  "delivered_at"]


WEBHOOK_EXAMPLE = {"id": 2, "url": "https://ml.example.com/hooks/annotate", "events": ["export.ready"],
                   "is_active": True, "created_at": "2025-06-01T08:00:00+07:00"}


class WebhookScoped:
    permission_classes = [HasOrganization]
    required_action = Action.WEBHOOKS

    def get_queryset(self):
        return Webhook.objects.filter(organization=self.request.organization)


@extend_schema(tags=["webhooks"])
class WebhookList(WebhookScoped, generics.ListCreateAPIView):
    serializer_class = WebhookSerializer
    pagination_class = IdCursorPagination

    @extend_schema(summary="List webhooks", examples=[OpenApiExample("A page", response_only=True, value={
        "next": None, "previous": None, "results": [WEBHOOK_EXAMPLE]})])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Register a webhook",
        description=(
            "Events `campaign.completed`, `campaign.progress` (25/50/75/100 % finalised), `item.finalised`, "
            "`export.ready`, `version.published`, `authenticity.flag_raised`, `authenticity.flag_resolved`, "
            "`budget.exhausted` (and `test`, from `POST /webhooks/{id}/test/`) are POSTed as JSON with "
            "`X-Webhook-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, \"<t>.\" + body)>`, retried with "
            "exponential back-off. URLs resolving to private, loopback or link-local addresses are refused."
        ),
        request=WebhookSerializer, responses={201: WebhookCreatedSerializer},
        examples=[OpenApiExample("Export notifications", request_only=True,
                                 value={"url": "https://ml.example.com/hooks/annotate", "events": ["export.ready"]}),
                  OpenApiExample("Created (the secret is shown once)", response_only=True, status_codes=["201"],
                                 value={**WEBHOOK_EXAMPLE, "secret": "3q2+7w...base64url...Zx0"})],
    )
    def post(self, request, *args, **kwargs):
        data = WebhookSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hook = Webhook.objects.create(
            organization=request.organization, url=data.validated_data["url"],
            events=data.validated_data.get("events", []), is_active=data.validated_data.get("is_active", True),
            created_by=request.user if getattr(request.user, "pk", None) else None,
        )
        return Response(WebhookCreatedSerializer(hook).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["webhooks"], summary="A webhook: read, change, delete",
               examples=[OpenApiExample("Webhook", value=WEBHOOK_EXAMPLE, response_only=True),
                         OpenApiExample("Pause it", value={"is_active": False}, request_only=True)])
class WebhookDetail(WebhookScoped, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = WebhookSerializer
    lookup_url_kwarg = "webhook_id"
    http_method_names = ["get", "patch", "delete", "head", "options"]


@extend_schema(tags=["webhooks"], summary="Recent deliveries of a webhook", examples=[OpenApiExample(
    "A page", response_only=True, value={"next": None, "previous": None, "results": [
        {"id": 9, "event": "export.ready", "object_id": 12, "status": "pending", "attempts": 2,
         "last_status_code": 503, "last_error": "HTTP 503", "created_at": "2025-06-01T08:00:09+07:00",
         "delivered_at": None}]})])
class WebhookDeliveries(WebhookScoped, generics.ListAPIView):
    serializer_class = DeliverySerializer
    pagination_class = IdCursorPagination

    def get_queryset(self):
        hook = get_object_or_404(Webhook, pk=self.kwargs["webhook_id"], organization=self.request.organization)
        return hook.deliveries.all()
