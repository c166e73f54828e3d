"""Organisation API: the organisation's campaigns."""
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from organizations.models import ApiToken
from organizations.permissions import HasOrganization

from .models import Campaign
from .selectors import campaign_progress


class CampaignOut(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = ["id", "name", "task_type", "status", "overlap", "max_overlap", "config", "created_at", "progress"]

    def get_progress(self, obj) -> dict:
        return campaign_progress(obj)


@extend_schema(summary="List the organisation's campaigns")
class CampaignList(generics.ListAPIView):
    permission_classes = [HasOrganization]
    required_scope = ApiToken.Scope.READ_DATASETS
    serializer_class = CampaignOut

    def get_queryset(self):
        return Campaign.objects.filter(organization=self.request.organization).order_by("id")


@extend_schema(summary="One campaign of the organisation")
class CampaignDetail(generics.RetrieveAPIView):
    permission_classes = [HasOrganization]
    required_scope = ApiToken.Scope.READ_DATASETS
    serializer_class = CampaignOut
    lookup_url_kwarg = "campaign_id"

    def get_queryset(self):
        return Campaign.objects.filter(organization=self.request.organization)
