from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssistConfig(AppConfig):
    name = "assist"
    verbose_name = _("Model assistance")

    def ready(self) -> None:
        # Lower layers announce facts; assist reacts (registration at start-up, never an import upwards):
        # a finished import asks the backends for suggestions, a consensus round retrains them.
        from consensus.engine import register_outcome_listener
        from tasks.importing import register_import_listener

        from .tasks import after_consensus, after_import

        register_import_listener(after_import)
        register_outcome_listener(after_consensus)
