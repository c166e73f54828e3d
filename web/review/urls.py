"""The console's review and dashboard pages, mounted at /review/ (config/urls.py)."""
from django.urls import path

from web.review import dataset, leaderboard, views

app_name = "review"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("items/<int:item_id>/", views.item_review, name="item"),
    path("items/<int:item_id>/view/<int:annotation_id>/", views.item_panel, name="panel"),
    path("items/<int:item_id>/media/<int:annotation_id>/", views.item_media, name="media"),
    path("items/<int:item_id>/authenticity/", views.authenticity_review, name="authenticity"),
    path("campaigns/<int:campaign_id>/dashboard/", views.dashboard, name="dashboard"),
    path("campaigns/<int:campaign_id>/dashboard.json", views.dashboard_json, name="dashboard-json"),
    path("campaigns/<int:campaign_id>/rescore/", views.rescore, name="rescore"),
    path("campaigns/<int:campaign_id>/dataset/", dataset.dataset, name="dataset"),
    path("campaigns/<int:campaign_id>/leaderboard/", leaderboard.leaderboard, name="leaderboard"),
]
