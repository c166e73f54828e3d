from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuthenticityConfig(AppConfig):
    name = "authenticity"
    verbose_name = _("Data authenticity")

    def ready(self) -> None:
        # Every stored answer is scored: the queue's submit calls this after each answer (workqueue.followups),
        # on both of its paths; answers written any other way are scored by the sweep (tasks.score_missing).
        from tasks.importing import register_item_extra
        from workqueue import followups

        from .services import clean_reference_answers, store_imported_reference_answers
        from .tasks import enqueue_scoring

        followups.on_answer("authenticity", enqueue_scoring)
        # An imported item may carry the answers LLMs gave to its prompt: stored apart, never shown to
        # contributors, compared with every answer to the item (paraphrase included).
        register_item_extra("reference_answers", clean_reference_answers, store_imported_reference_answers)
