from django.apps import AppConfig


class WebConfig(AppConfig):
    """The top layer: the admin console, the REST API and the pages. It composes the apps below it."""

    name = "web"

    def ready(self) -> None:
        from django.contrib import admin
        from django.utils.translation import gettext_lazy as _

        admin.site.site_header = _("Annotation platform console")
        admin.site.site_title = _("Console")
        admin.site.index_title = _("Campaigns, review and contributors")
