from django.apps import AppConfig
from django.core.signals import setting_changed
from django.utils.translation import gettext_lazy as _


def _roots_changed(*, setting: str, **kwargs) -> None:
    if setting == "TASK_TYPE_PACKAGES":  # e.g. a test enabling a fixture package with override_settings
        from .discovery import discover  # the app registry is ready by the time settings change

        discover()


class TaskTypesConfig(AppConfig):
    """Discovers the task-type packages and registers them (tasks.types is the registry)."""

    name = "task_types"
    verbose_name = _("Task types")

    def ready(self) -> None:
        # Discovery imports the type packages, which import models: only once the registry is ready.
        from .discovery import discover

        discover()
        setting_changed.connect(_roots_changed, dispatch_uid="task_types.roots_changed")
