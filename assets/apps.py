from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "assets"
    verbose_name = "Media assets"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (stored files follow their records)
