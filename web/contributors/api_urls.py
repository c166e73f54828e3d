"""Contributor API routes (included under /api/v1/ by config/urls.py)."""
from django.urls import path

from web.contributors import api

urlpatterns = [
    path("me/", api.MeView.as_view(), name="api-me"),
    path("qualifications/<slug:task_type>/attempts/", api.StartAttemptView.as_view(), name="api-qualification-start"),
    path("qualification-attempts/<int:attempt_id>/submit/", api.SubmitAttemptView.as_view(),
         name="api-qualification-submit"),
]
