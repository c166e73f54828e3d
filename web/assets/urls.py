"""URL routes of this app (included by config/urls.py at /assets/)."""
from django.urls import path

from web.assets import views

app_name = "assets"
urlpatterns = [
    path("m/<str:token>/", views.serve_media, name="serve"),
    path("assignments/<int:assignment_id>/media/", views.AssignmentMediaView.as_view(), name="assignment-media"),
    path("assignments/<int:assignment_id>/recording/", views.RecordingUploadView.as_view(), name="recording-upload"),
    path("campaigns/<int:campaign_id>/coverage/", views.campaign_coverage, name="coverage"),
]
