"""The dataset view over the REST API (included under /api/v1/ by config/urls.py)."""
from django.urls import path

from web.review import dataset

urlpatterns = [
    path("campaigns/<int:campaign_id>/dataset/", dataset.DatasetView.as_view(), name="campaign-dataset"),
]
