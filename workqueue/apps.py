from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkqueueConfig(AppConfig):
    """The queue: lease, submit, release, expiry, counters and reads (README.md here). No models of its own:
    Assignment, Item and RegionTally are the tasks app's, Annotation the annotations app's."""

    name = "workqueue"
    verbose_name = _("Work queue")
