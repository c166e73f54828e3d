"""Organisation API: named dataset versions (freeze an export, list, download, publish) and a webhook's
test event."""
import base64

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Action as Audit
from audit.services import record, request_ip
from core.api_errors import ErrorBody, error_example
from core.pagination import IdCursorPagination
from exports.models import DatasetVersion, Webhook
from exports.selectors import exports_for
from exports.versions import PUBLISH_TARGETS, freeze_export, publish_version, version_path
from exports.webhooks import send_test_event
from organizations.access import Action
from organizations.permissions import HasOrganization
from web.exports.api import DeliverySerializer, WebhookScoped
from web.scoping import CampaignScopedMixin


class VersionIn(serializers.Serializer):
    export = serializers.IntegerField(help_text="A succeeded export of this campaign to freeze.")
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class VersionOut(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    campaign = serializers.IntegerField(source="campaign_id")
    export = serializers.IntegerField(source="export_id", allow_null=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = DatasetVersion
        fields = ["id", "campaign", "name", "number", "export", "notes", "layout", "format", "filters", "split",
                  "rows", "size_bytes", "sha256", "files", "changelog", "published", "card", "download_url",
                  "created_at"]

    def get_download_url(self, obj) -> str:
        request = self.context.get("request")
        url = f"/api/v1/versions/{obj.pk}/download/"
        return request.build_absolute_uri(url) if request else url


class PublishIn(serializers.Serializer):
    target = serializers.ChoiceField(choices=PUBLISH_TARGETS,
                                     help_text="`disk`: a Hugging Face layout under DATASET_PUBLISH_ROOT; `s3`: the "
                                     "bucket configured in DATASET_PUBLISH_S3.")


VERSION_EXAMPLE = {
    "id": 4, "campaign": 3, "name": "v2", "number": 2, "export": 12, "notes": "Batch 2 finalised",
    "layout": "dpo", "format": "parquet", "filters": {"finalised_only": True}, "split": {"ratios": {"train": 1.0}},
    "rows": 480, "size_bytes": 52311, "sha256": "9f86d0…", "files": [{"name": "data/train.parquet", "rows": 480}],
    "changelog": {"previous": "v1", "items_added": 120, "items_removed": 0, "labels_changed": 3,
                  "rows_dropped_by_filters": 17},
    "published": [], "card": "---\nlicense: cc-by-4.0\n…", "download_url": "https://annotate.example/api/v1/versions/4/download/",
    "created_at": "2025-06-03T08:00:00+07:00",
}


class VersionScoped:
    permission_classes = [HasOrganization]
    required_action = {"read": Action.VIEW, "write": Action.EXPORT}

    def get_queryset(self):
        return DatasetVersion.objects.filter(organization=self.request.organization).select_related("organization")


@extend_schema(tags=["versions"])
class CampaignVersions(CampaignScopedMixin, VersionScoped, generics.ListCreateAPIView):
    serializer_class = VersionOut
    pagination_class = IdCursorPagination

    def get_queryset(self):
        return super().get_queryset().filter(campaign=self.campaign())

    @extend_schema(summary="A campaign's dataset versions", examples=[OpenApiExample(
        "A page", response_only=True, value={"next": None, "previous": None, "results": [VERSION_EXAMPLE]})])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Freeze an export as the campaign's next version (v1, v2…)",
        description="Copies the export's archive into an immutable file (it downloads byte-identical from then "
        "on) and computes the changelog against the previous version: items added and removed, labels changed, "
        "rows dropped by the filters.",
        request=VersionIn,
        responses={201: VersionOut, 400: OpenApiResponse(ErrorBody, description="The export cannot be frozen",
                                                         examples=[OpenApiExample("Not ready", value=error_example(
                                                             400, "invalid", "Export 12 is running; freeze it once "
                                                             "it has succeeded.", "export"))])},
        examples=[OpenApiExample("Freeze", request_only=True, value={"export": 12, "notes": "Batch 2 finalised"})],
    )
    def post(self, request, *args, **kwargs):
        campaign = self.campaign()
        data = VersionIn(data=request.data)
        data.is_valid(raise_exception=True)
        export = exports_for(request.organization).filter(campaign=campaign, pk=data.validated_data["export"]).first()
        if export is None:
            raise exceptions.ValidationError({"export": ["No such export of this campaign."]})
        version = freeze_export(export=export, notes=data.validated_data["notes"],
                                created_by=request.user if getattr(request.user, "pk", None) else None)
        record(action=Audit.EXPORT_REQUESTED, by=request.user if getattr(request.user, "pk", None) else None,
               ip=request_ip(request), organization=request.organization,
               target=f"exports.datasetversion:{version.pk}", detail={"version": version.name, "export": export.pk})
        return Response(VersionOut(version, context={"request": request}).data, status=status.HTTP_201_CREATED,
                        headers={"Location": f"/api/v1/versions/{version.pk}/"})


@extend_schema(tags=["versions"], summary="One dataset version with its card and changelog",
               examples=[OpenApiExample("Version", value=VERSION_EXAMPLE, response_only=True)])
class VersionDetail(VersionScoped, generics.RetrieveAPIView):
    serializer_class = VersionOut
    lookup_url_kwarg = "version_id"


@extend_schema(tags=["versions"], summary="Download a version's archive (byte-identical every time)",
               description="`X-Checksum-SHA256`, `Digest` and a strong `ETag` carry the archive's SHA-256.",
               responses={(200, "application/zip"): OpenApiTypes.BINARY,
                          404: OpenApiResponse(ErrorBody, description="No such version in your organisation")})
class VersionDownload(VersionScoped, APIView):
    required_action = Action.EXPORT

    def get(self, request, version_id: int):
        version = get_object_or_404(self.get_queryset(), pk=version_id)
        path = version_path(version)
        if path is None:
            raise exceptions.NotFound(f"The file of {version.name} is gone.")
        response = FileResponse(open(path, "rb"), as_attachment=True, filename=version.download_name,  # noqa: SIM115
                                content_type="application/zip")
        response["X-Checksum-SHA256"] = version.sha256
        response["Digest"] = "sha-256=" + base64.b64encode(bytes.fromhex(version.sha256)).decode()
        response["ETag"] = f'"{version.sha256}"'
        record(action=Audit.EXPORT_DOWNLOADED, by=request.user, ip=request_ip(request),
               organization=request.organization, target=f"exports.datasetversion:{version.pk}")
        return response


@extend_schema(tags=["versions"], summary="Publish a version (Hugging Face layout on disk, or S3)",
               request=PublishIn, responses={200: VersionOut},
               examples=[OpenApiExample("To the bucket", request_only=True, value={"target": "s3"})])
class VersionPublish(VersionScoped, APIView):
    required_action = Action.EXPORT

    def post(self, request, version_id: int):
        version = get_object_or_404(self.get_queryset(), pk=version_id)
        data = PublishIn(data=request.data)
        data.is_valid(raise_exception=True)
        publish_version(version=version, target=data.validated_data["target"])
        return Response(VersionOut(version, context={"request": request}).data)


@extend_schema(tags=["webhooks"], summary="Send a signed test event to a webhook", request=None,
               description="Queues a `test` event (a new delivery each call, whatever events the webhook "
               "subscribed to), signed like every event; its outcome appears in the delivery log.",
               responses={202: DeliverySerializer},
               examples=[OpenApiExample("Queued", response_only=True, status_codes=["202"], value={
                   "id": 31, "event": "test", "object_id": 2, "status": "pending", "attempts": 0,
                   "last_status_code": None, "last_error": "", "created_at": "2025-06-01T08:00:00+07:00",
                   "delivered_at": None})])
class WebhookTest(WebhookScoped, APIView):
    def post(self, request, webhook_id: int):
        hook = get_object_or_404(Webhook, pk=webhook_id, organization=request.organization)
        return Response(DeliverySerializer(send_test_event(hook)).data, status=status.HTTP_202_ACCEPTED)
