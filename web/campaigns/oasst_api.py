"""Organisation API: import Open Assistant message trees into a conversation campaign.

A JSONL file of trees (``message_tree_id``, ``prompt`` with nested ``replies``, as Open Assistant's
``*.trees.jsonl`` exports) becomes the campaign's items for its mode (task_types/conversation/oasst.py).
Synchronous and all or nothing: a bad line answers 400 naming the line and the field
(``line 3.prompt.replies[1].role``) and stores nothing. Scoped like every campaign route: another
organisation's campaign is 404; it needs the ``campaigns:manage`` action (organizations/access.py).
"""
from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import SchemaError
from task_types.conversation.oasst import import_trees
from web.campaigns.org_api import OrgScoped

# Trees are read whole in the request (a synchronous import); larger files go through the item import jobs.
MAX_BYTES = getattr(settings, "OASST_IMPORT_MAX_BYTES", 20 * 1024 * 1024)


class TreesIn(serializers.Serializer):
    file = serializers.FileField(help_text="Open Assistant trees, one JSON tree per line (UTF-8), up to 20 MiB.")


def _refused(field: str, message: str, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"error": {"status": code, "code": "invalid", "field": field, "message": message}}, status=code)


@extend_schema(tags=["items"])
class OasstTreeImport(OrgScoped, APIView):
    parser_classes = [parsers.MultiPartParser]

    @extend_schema(
        summary="Import Open Assistant trees into a conversation campaign",
        description="Multipart upload (`file`, JSONL). Items follow the campaign's mode (rate, rank or write). "
        "All or nothing: a bad line answers 400 naming it (`field`: `line 2.prompt.role`) and imports nothing.",
        request={"multipart/form-data": TreesIn},
        responses={201: OpenApiResponse(description="Items created"), 400: OpenApiResponse(description="Bad line")},
        examples=[OpenApiExample("Imported", response_only=True, status_codes=["201"], value={"imported": 12}),
                  OpenApiExample("Bad line", response_only=True, status_codes=["400"], value={"error": {
                      "status": 400, "code": "invalid", "field": "line 2.prompt.replies[0].role",
                      "message": "Unknown role 'bot' (prompter or assistant)."}})],
    )
    def post(self, request, campaign_id: int):
        campaign = self.campaign()
        if campaign.task_type != "conversation":
            return _refused("campaign", "Open Assistant trees go into a conversation campaign.")
        data = TreesIn(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > MAX_BYTES:
            return _refused("file", f"The file is over {MAX_BYTES // (1024 * 1024)} MiB; use the item import jobs.")
        try:
            lines = upload.read().decode("utf-8").splitlines()
        except UnicodeDecodeError:
            return _refused("file", "The file is not UTF-8 text.")
        try:
            imported = import_trees(campaign, lines)
        except SchemaError as exc:
            return _refused(exc.field, exc.message)
        return Response({"imported": imported}, status=status.HTTP_201_CREATED)
