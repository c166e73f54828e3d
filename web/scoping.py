"""The one organisation-scoped campaign lookup of the organisation API."""
from __future__ import annotations

from django.shortcuts import get_object_or_404

from tasks.models import Campaign


def organization_campaign(request, campaign_id: int) -> Campaign:
    """The request's organisation's campaign ``campaign_id``. Another organisation's campaign is a 404, never a
    403: its existence is not revealed."""
    return get_object_or_404(Campaign, pk=campaign_id, organization=request.organization)


class CampaignScopedMixin:
    """API views under ``campaigns/<campaign_id>/``: ``self.campaign()`` is the organisation's campaign."""

    def campaign(self) -> Campaign:
        return organization_campaign(self.request, self.kwargs["campaign_id"])
