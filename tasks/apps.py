from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Campaigns and queue"

    def ready(self) -> None:
        from . import types  # noqa: F401  (registers every task type)
