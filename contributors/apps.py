from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContributorsConfig(AppConfig):
    name = "contributors"
    verbose_name = _("Contributors")

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects receivers: models are importable only now)

