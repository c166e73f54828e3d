"""URL routes of this app (included by config/urls.py under /api/v1/)."""
from django.urls import path

from web.assist import api

urlpatterns = [
    path("assignments/<int:assignment_id>/suggestion/", api.AssignmentSuggestionView.as_view(),
         name="assignment-suggestion"),
    path("campaigns/<int:campaign_id>/suggestions/", api.SuggestionList.as_view(), name="suggestion-list"),
]
