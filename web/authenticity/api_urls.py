"""URL routes of this app (included by config/urls.py under /api/v1/)."""
from django.urls import path

from web.authenticity import api

urlpatterns = [
    path("campaigns/<int:campaign_id>/authenticity/", api.ReportView.as_view(), name="authenticity-report"),
    path("campaigns/<int:campaign_id>/authenticity/scores/", api.ScoreList.as_view(), name="authenticity-scores"),
    path("campaigns/<int:campaign_id>/authenticity/references/", api.ReferenceUpload.as_view(),
         name="authenticity-references"),
    path("campaigns/<int:campaign_id>/authenticity/policy/", api.PolicyView.as_view(), name="authenticity-policy"),
    path("authenticity/text-check/", api.TextCheck.as_view(), name="authenticity-text-check"),
]
