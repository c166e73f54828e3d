"""URL routes of this app (included under /api/v1/ by config/urls.py); campaigns themselves are in config/urls.py."""
from django.urls import path

from web.campaigns import api, dataset_api, oasst_api, org_api

urlpatterns = [
    path("personal-tokens/", api.PersonalTokenList.as_view(), name="personal-token-list"),
    path("personal-tokens/<int:token_id>/", api.PersonalTokenDetail.as_view(), name="personal-token-detail"),
    path("campaigns/<int:campaign_id>/items/", org_api.ItemList.as_view(), name="campaign-items"),
    path("campaigns/<int:campaign_id>/imports/", org_api.CampaignImports.as_view(), name="campaign-imports"),
    path("campaigns/<int:campaign_id>/imports/oasst/", oasst_api.OasstTreeImport.as_view(), name="campaign-oasst-import"),
    path("campaigns/<int:campaign_id>/imports/dataset/", dataset_api.CampaignDatasetImport.as_view(),
         name="campaign-dataset-import"),
    path("imports/<int:job_id>/", org_api.ImportDetail.as_view(), name="import-detail"),
    path("imports/<int:job_id>/errors/", org_api.ImportErrors.as_view(), name="import-errors"),
]
