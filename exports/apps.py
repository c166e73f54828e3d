from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Dataset exports"

    def ready(self):
        # Models are importable only once the registry is ready.
        from django.db.models.signals import post_save

        from tasks.models import Campaign

        from .signals import campaign_saved

        post_save.connect(campaign_saved, sender=Campaign, dispatch_uid="exports.campaign_completed")
