"""Field work pages, mounted at /field/ (config/urls.py): the phone page, booking, the review page, exports."""
from django.urls import path

from web.fieldwork import views

urlpatterns = [
    path("sw.js", views.service_worker, name="field-sw"),
    path("<int:campaign_id>/", views.field_page, name="field-page"),
    path("<int:campaign_id>/places.json", views.places, name="field-places"),
    path("<int:campaign_id>/book/", views.book, name="field-book"),
    path("<int:campaign_id>/review/", views.review, name="field-review"),
    path("<int:campaign_id>/export.zip", views.export, name="field-export"),
]
