from django.apps import AppConfig


class WebConfig(AppConfig):
    """The top layer: the admin console, the REST API and the pages. It composes the apps below it."""

    name = "web"
