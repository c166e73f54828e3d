"""URL routes of this app (included by config/urls.py)."""
urlpatterns: list = []
