"""URL routes of this app (included under /api/v1/ by config/urls.py)."""
from django.urls import path

from web.exports import api, versions_api

urlpatterns = [
    path("campaigns/<int:campaign_id>/exports/", api.CampaignExports.as_view(), name="campaign-exports"),
    path("campaigns/<int:campaign_id>/export-layouts/", api.CampaignLayouts.as_view(), name="campaign-export-layouts"),
    path("exports/", api.ExportList.as_view(), name="export-list"),
    path("exports/<int:export_id>/", api.ExportDetail.as_view(), name="export-detail"),
    path("exports/<int:export_id>/download/", api.ExportDownload.as_view(), name="export-download"),
    path("webhooks/", api.WebhookList.as_view(), name="webhook-list"),
    path("webhooks/<int:webhook_id>/", api.WebhookDetail.as_view(), name="webhook-detail"),
    path("webhooks/<int:webhook_id>/deliveries/", api.WebhookDeliveries.as_view(), name="webhook-deliveries"),
]

urlpatterns += [
    path("campaigns/<int:campaign_id>/versions/", versions_api.CampaignVersions.as_view(), name="campaign-versions"),
    path("versions/<int:version_id>/", versions_api.VersionDetail.as_view(), name="version-detail"),
    path("versions/<int:version_id>/download/", versions_api.VersionDownload.as_view(), name="version-download"),
    path("versions/<int:version_id>/publish/", versions_api.VersionPublish.as_view(), name="version-publish"),
    path("webhooks/<int:webhook_id>/test/", versions_api.WebhookTest.as_view(), name="webhook-test"),
]
