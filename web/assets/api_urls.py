"""Organisation API routes of this app (included under /api/v1/)."""
from django.urls import path

from web.assets import views

urlpatterns = [
    path("campaigns/<int:campaign_id>/media/", views.CampaignMediaUpload.as_view(), name="campaign-media-upload"),
]
