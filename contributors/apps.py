from django.apps import AppConfig


class ContributorsConfig(AppConfig):
    name = "contributors"
    verbose_name = "Contributors"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects receivers: models are importable only now)

