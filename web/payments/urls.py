"""Contributor earnings pages, mounted at /me/earnings/."""
from django.urls import path

from web.payments import views

urlpatterns = [
    path("", views.statement, name="contributor-statement"),
    path("payout/", views.payout, name="contributor-payout"),
    path("tax/<int:year>/", views.tax_certificate, name="contributor-tax-certificate"),
    path("contest/<int:annotation_id>/", views.contest_answer, name="contributor-contest-answer"),
    path("contest/suspension/", views.contest_suspension, name="contributor-contest-suspension"),
]
