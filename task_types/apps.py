from django.apps import AppConfig


class TaskTypesConfig(AppConfig):
    """Discovers the task-type packages and registers them (tasks.types is the registry)."""

    name = "task_types"
    verbose_name = "Task types"

    def ready(self) -> None:
        from .discovery import discover

        discover()
