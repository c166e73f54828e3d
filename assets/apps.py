from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssetsConfig(AppConfig):
    name = "assets"
    verbose_name = _("Media assets")

    def ready(self) -> None:
        # Models are importable only once the registry is ready.
        from tasks.importing import register_item_check

        from . import signals  # noqa: F401  (stored files follow their records)
        from .ownership import check_imported_item

        register_item_check(check_imported_item)  # imported items name only their organisation's media
