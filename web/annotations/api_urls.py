"""URL routes of the annotations app under /api/v1/ (the annotation and consensus lists are in config/urls.py)."""
from django.urls import path

from web.annotations import quality_api

urlpatterns = [
    path("campaigns/<int:campaign_id>/quality/", quality_api.QualityReport.as_view(), name="campaign-quality"),
    path("campaigns/<int:campaign_id>/consensus/jobs/", quality_api.RescoreJobs.as_view(), name="consensus-jobs"),
    path("campaigns/<int:campaign_id>/consensus/jobs/<int:job_id>/", quality_api.RescoreJobDetail.as_view(),
         name="consensus-job-detail"),
]
