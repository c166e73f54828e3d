"""URL routes of this app (included under /api/v1/ by config/urls.py)."""
from django.urls import path

from web.organizations import api

urlpatterns = [
    path("tokens/", api.TokenList.as_view(), name="token-list"),
    path("tokens/<int:token_id>/", api.TokenDetail.as_view(), name="token-detail"),
]
