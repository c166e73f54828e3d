from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = _("Dataset exports")

    def ready(self):
        # Models are importable only once the registry is ready.
        from django.db.models.signals import post_save

        from tasks.models import Campaign

        from .signals import campaign_saved

        post_save.connect(campaign_saved, sender=Campaign, dispatch_uid="exports.campaign_completed")

        from consensus.engine import register_outcome_listener
        from core.events import register_sink

        from .events import deliver_event, items_finalised

        register_sink(deliver_event)
        register_outcome_listener(items_finalised)
