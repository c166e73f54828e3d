"""Organisation API: annotations and consensus of a campaign (cursor paginated, filtered, conditional GET).

Filters: ``state`` (the item's consensus state), ``min_agreement`` (0..1), ``updated_since`` (ISO date or
date-time: annotations created / consensus results recomputed since then — what an incremental sync needs).
"""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, serializers

from annotations.models import Annotation, Consensus
from core.pagination import ConditionalListMixin, IdCursorPagination
from core.schema import SchemaError
from exports.services import clean_min_agreement, parse_since
from organizations.access import Action
from organizations.permissions import HasOrganization
from web.scoping import CampaignScopedMixin


class AnnotationOut(serializers.ModelSerializer):
    item = serializers.IntegerField(source="item_id")
    contributor = serializers.CharField(source="contributor.contributor.pseudonym", default="")
    region = serializers.CharField(source="contributor.contributor.region", default="")
    consensus_state = serializers.CharField(source="item.consensus.state", default=None, allow_null=True)

    class Meta:
        model = Annotation
        fields = ["id", "item", "contributor", "region", "payload", "is_gold", "time_spent_ms", "consensus_state",
                  "created_at"]


class ConsensusOut(serializers.ModelSerializer):
    item = serializers.IntegerField(source="item_id")
    external_id = serializers.CharField(source="item.external_id")

    class Meta:
        model = Consensus
        fields = ["item", "external_id", "state", "result", "confidence", "agreement", "method", "algorithm_version",
                  "n_answers", "updated_at"]


FILTER_PARAMETERS = [
    OpenApiParameter("state", str, enum=Consensus.State.values, description="The item's consensus state."),
    OpenApiParameter("min_agreement", float, description="Only items whose consensus agreement is ≥ this (0..1)."),
    OpenApiParameter("updated_since", OpenApiTypes.DATETIME,
                     description="ISO date or date-time; annotations created / results recomputed since then."),
    OpenApiParameter("page_size", int, description="Up to 1000 (default 100)."),
    OpenApiParameter("cursor", str, description="The opaque cursor from `next` / `previous`."),
]


def list_filters(params) -> dict:
    """Parse the list filters; bad values are a 400 naming the parameter."""

    out = {}
    state = params.get("state")
    if state:
        if state not in Consensus.State.values:
            raise exceptions.ValidationError({"state": [f"Unknown state; use one of {Consensus.State.values}."]})
        out["state"] = state
    try:
        agreement = clean_min_agreement(params.get("min_agreement"))
        since = parse_since(params.get("updated_since"))
    except SchemaError as exc:
        name = "updated_since" if exc.field == "since" else exc.field
        raise exceptions.ValidationError({name: [exc.message]}) from exc
    if agreement is not None:
        out["min_agreement"] = agreement
    if since:
        out["since"] = since
    return out


class CampaignScopedList(CampaignScopedMixin, ConditionalListMixin, generics.ListAPIView):
    permission_classes = [HasOrganization]
    required_action = Action.VIEW
    pagination_class = IdCursorPagination

    # The fields the ``state``, ``min_agreement`` and ``updated_since`` filters apply to, in that order.
    filter_fields: tuple[str, str, str]


    def filtered(self, qs):
        state, agreement, since = self.filter_fields
        lookups = {"state": state, "min_agreement": f"{agreement}__gte", "since": f"{since}__gte"}
        for name, value in list_filters(self.request.query_params).items():
            qs = qs.filter(**{lookups[name]: value})
        return qs


@extend_schema(tags=["annotations"], summary="List a campaign's annotations", parameters=FILTER_PARAMETERS,
               examples=[OpenApiExample("A page", response_only=True, value={
                   "next": "https://annotate.example/api/v1/campaigns/3/annotations/?cursor=cD0xMjM0", "previous": None,
                   "results": [{"id": 1234, "item": 88, "contributor": "c_1f2e3d4c5b6a7980", "region": "north",
                                "payload": {"categories": ["spam"]}, "is_gold": False, "time_spent_ms": 5120,
                                "consensus_state": "finalised", "created_at": "2025-06-01T08:00:00+07:00"}]})])
class AnnotationList(CampaignScopedList):
    serializer_class = AnnotationOut
    last_modified_fields = ("created_at",)
    filter_fields = ("item__consensus__state", "item__consensus__agreement", "created_at")

    def get_queryset(self):
        qs = self.filtered(Annotation.objects.filter(campaign=self.campaign()))
        return qs.select_related("contributor__contributor", "item__consensus").order_by("id")


class ConsensusPagination(IdCursorPagination):
    ordering = "item_id"


@extend_schema(tags=["annotations"], summary="List a campaign's consensus results", parameters=FILTER_PARAMETERS,
               examples=[OpenApiExample("A page", response_only=True, value={
                   "next": None, "previous": None,
                   "results": [{"item": 88, "external_id": "post-88", "state": "finalised",
                                "result": {"categories": ["spam"], "votes": {"spam": 3}}, "confidence": 1.0,
                                "agreement": 1.0, "method": "majority_vote", "algorithm_version": "1",
                                "n_answers": 3, "updated_at": "2025-06-01T08:00:00+07:00"}]})])
class ConsensusList(CampaignScopedList):
    serializer_class = ConsensusOut
    pagination_class = ConsensusPagination
    filter_fields = ("state", "agreement", "updated_at")

    def get_queryset(self):
        return self.filtered(Consensus.objects.filter(campaign=self.campaign())).select_related("item").order_by("item_id")
