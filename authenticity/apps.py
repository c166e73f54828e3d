from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuthenticityConfig(AppConfig):
    name = "authenticity"
    verbose_name = _("Data authenticity")

    def ready(self) -> None:
        # Every stored answer is scored: the queue's submit calls this after each answer (workqueue.followups),
        # on both of its paths; answers written any other way are scored by the sweep (tasks.score_missing).
        from workqueue import followups

        from .tasks import enqueue_scoring

        followups.on_answer("authenticity", enqueue_scoring)
