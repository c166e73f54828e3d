from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = _("Campaigns and queue")

    def ready(self) -> None:
        from . import types  # noqa: F401  (registers every task type)
