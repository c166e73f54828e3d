"""Organisation API: import a data team's annotated dataset (COCO, YOLO, CVAT XML, Label Studio JSON...) with
its images as pre-annotated items of a campaign.

The formats are the task type's (``TaskType.dataset_import_formats``; the image type reads COCO, a YOLO zip,
CVAT for images XML and Label Studio JSON). Synchronous and all or nothing: a bad file, image or object
answers 400 naming the file and the object (``field``: ``instances.json: annotations[3].bbox``) and stores
nothing, no item and no image. Scoped like every campaign route: another organisation's campaign is 404;
it needs the ``campaigns:manage`` action (organizations/access.py).
"""
from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import SchemaError
from organizations.models import ApiToken
from web.campaigns.org_api import OrgScoped

# The upload is unpacked and every image decoded inside the request; larger datasets go in several parts.
MAX_BYTES = getattr(settings, "DATASET_IMPORT_MAX_BYTES", 512 * 1024 * 1024)


class DatasetIn(serializers.Serializer):
    format = serializers.CharField(max_length=20, help_text="coco, yolo, cvat or labelstudio (image campaigns).")
    annotations = serializers.FileField(help_text="COCO or Label Studio JSON, CVAT XML, or a YOLO zip (data.yaml, "
                                                  "labels/ and possibly images/).")
    images = serializers.FileField(required=False, help_text="A zip of the images, matched by file name.")


def refused(field: str, message: str, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"error": {"status": code, "code": "invalid", "field": field, "message": message}}, status=code)


@extend_schema(tags=["items"])
class CampaignDatasetImport(OrgScoped, APIView):
    parser_classes = [parsers.MultiPartParser]

    @extend_schema(
        summary="Import an annotated dataset as pre-annotated items",
        description="Multipart upload: `format`, `annotations` (the dataset file) and `images` (a zip). One item "
        "per image, its objects as pre-annotations contributors correct. All or nothing: a bad file, image or "
        "object answers 400 naming it and imports nothing.",
        request={"multipart/form-data": DatasetIn},
        responses={201: OpenApiResponse(description="Items created"), 400: OpenApiResponse(description="Refused")},
        examples=[OpenApiExample("Imported", response_only=True, status_codes=["201"],
                                 value={"imported": 120, "format": "coco"}),
                  OpenApiExample("Bad object", response_only=True, status_codes=["400"], value={"error": {
                      "status": 400, "code": "invalid", "field": "labels/train/a.txt line 2",
                      "message": "class 7 is not in names (0..1)"}})],
    )
    def post(self, request, campaign_id: int):
        campaign = self.campaign()
        task = campaign.task
        if not task.dataset_import_formats:
            return refused("campaign", f"The {campaign.task_type} task type imports no dataset formats.")
        data = DatasetIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v["format"] not in task.dataset_import_formats:
            return refused("format", f"Use one of {', '.join(task.dataset_import_formats)}.")
        uploads = [v["annotations"], *([v["images"]] if v.get("images") else [])]
        if sum(u.size for u in uploads) > MAX_BYTES:
            return refused("images", f"The upload is over {MAX_BYTES // (1024 * 1024)} MiB; import it in parts.")
        try:
            imported = task.import_dataset(campaign=campaign, fmt=v["format"], annotations=v["annotations"],
                                           annotations_name=v["annotations"].name, media=v.get("images"),
                                           uploaded_by=None if isinstance(request.auth, ApiToken) else request.user)
        except SchemaError as exc:
            return refused(exc.field, exc.message)
        return Response({"imported": imported, "format": v["format"]}, status=status.HTTP_201_CREATED)
