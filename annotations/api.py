"""Organisation API: annotations and consensus of a campaign (cursor paginated)."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from config.pagination import IdCursorPagination
from organizations.models import ApiToken
from organizations.permissions import HasOrganization
from tasks.models import Campaign

from .models import Annotation, Consensus


class AnnotationOut(serializers.ModelSerializer):
    item = serializers.IntegerField(source="item_id")
    contributor = serializers.CharField(source="contributor.contributor.pseudonym", default="")

    class Meta:
        model = Annotation
        fields = ["id", "item", "contributor", "payload", "time_spent_ms", "created_at"]


class ConsensusOut(serializers.ModelSerializer):
    item = serializers.IntegerField(source="item_id")

    class Meta:
        model = Consensus
        fields = ["item", "state", "result", "confidence", "agreement", "method", "n_answers", "updated_at"]


class CampaignScopedList(generics.ListAPIView):
    permission_classes = [HasOrganization]
    required_scope = ApiToken.Scope.READ_DATASETS
    pagination_class = IdCursorPagination

    def campaign(self) -> Campaign:
        # Another organisation's campaign is 404, never 403: its existence is not revealed.
        return get_object_or_404(Campaign, pk=self.kwargs["campaign_id"], organization=self.request.organization)


@extend_schema(summary="List a campaign's annotations")
class AnnotationList(CampaignScopedList):
    serializer_class = AnnotationOut

    def get_queryset(self):
        return (
            Annotation.objects.filter(campaign=self.campaign())
            .select_related("contributor__contributor")
            .order_by("id")
        )


class ConsensusPagination(IdCursorPagination):
    ordering = "item_id"


@extend_schema(summary="List a campaign's consensus results")
class ConsensusList(CampaignScopedList):
    serializer_class = ConsensusOut
    pagination_class = ConsensusPagination

    def get_queryset(self):
        qs = Consensus.objects.filter(campaign=self.campaign()).order_by("item_id")
        state = self.request.query_params.get("state")
        if state:
            qs = qs.filter(state=state)
        return qs
