"""Contributor pages, mounted at /me/."""
from django.urls import path

from web.contributors import views

urlpatterns = [
    path("", views.dashboard, name="contributor-dashboard"),
    path("profile/", views.profile, name="contributor-profile"),
    path("identity/", views.identity, name="contributor-identity"),
    path("identity/documents/<int:document_id>/file/", views.identity_document_file, name="identity-document-file"),
    path("qualifications/", views.qualifications, name="contributor-qualifications"),
    path("qualifications/<slug:task_type>/", views.qualification, name="contributor-qualification"),
    path("qualification-attempts/<int:attempt_id>/media/<int:number>/", views.qualification_media,
         name="contributor-qualification-media"),
    path("history/", views.history, name="contributor-history"),
    path("history/contest/<int:annotation_id>/", views.history_contest_answer, name="contributor-history-contest"),
    path("history/contest/suspension/", views.history_contest_suspension,
         name="contributor-history-contest-suspension"),
    path("terms/", views.terms, name="contributor-terms"),
    path("data/", views.personal_data, name="contributor-data"),
    path("data/erase/", views.request_erasure, name="contributor-erase"),
]
