"""Model assistance over HTTP: the labelling page's suggestion for its open assignment (session), and a
campaign's suggestions for the organisation's tokens (scoped like the rest of the organisation API)."""
from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from assist.models import Suggestion
from assist.services import expose
from core.api_errors import error_response
from core.pagination import IdCursorPagination
from organizations.access import Action
from organizations.permissions import HasOrganization
from tasks.models import Assignment
from web.campaigns.api import IsPersonUser
from web.scoping import CampaignScopedMixin


class AssignmentSuggestionView(APIView):
    """What the page shows with the contributor's open assignment: the server decides (control share, gold
    items, policy) and records it, so the stored answer's "suggestion shown" never rests on the page."""

    permission_classes = [IsPersonUser]

    @extend_schema(
        request=None,
        responses={200: inline_serializer("AssignmentSuggestion", {"suggestion": serializers.DictField(
            allow_null=True)})},
        summary="The model's suggestion for an open assignment (null: none, or a control item)",
    )
    def post(self, request, assignment_id: int):
        assignment = (Assignment.objects.select_related("campaign", "item")
                      .filter(pk=assignment_id, contributor=request.user, state=Assignment.State.LEASED).first())
        if assignment is None:
            return error_response(404, "not_found", _("Not found."))
        exposure = expose(assignment=assignment)
        if exposure is None or not exposure.shown:
            return Response({"suggestion": None})
        return Response({"suggestion": {"answer": exposure.answer, "score": exposure.score,
                                        "model_version": exposure.model_version, "policy": exposure.policy}})


class SuggestionOut(serializers.ModelSerializer):
    item = serializers.IntegerField(source="item_id")
    external_id = serializers.CharField(source="item.external_id")
    backend = serializers.CharField(source="backend.name")

    class Meta:
        model = Suggestion
        fields = ["id", "item", "external_id", "backend", "answer", "score", "distribution", "uncertainty",
                  "model_version", "stopped_collecting_at", "updated_at"]


@extend_schema(summary="Model suggestions of a campaign's items (?item=<id> for one item)")
class SuggestionList(CampaignScopedMixin, generics.ListAPIView):
    permission_classes = [HasOrganization]
    required_action = Action.VIEW
    serializer_class = SuggestionOut
    pagination_class = IdCursorPagination

    def get_queryset(self):
        qs = Suggestion.objects.filter(campaign=self.campaign()).select_related("item", "backend").order_by("id")
        item = self.request.query_params.get("item")
        if item is not None:
            if not item.isdigit():
                raise serializers.ValidationError({"item": [_("An item id (a whole number).")]})
            qs = qs.filter(item_id=int(item))
        return qs
