from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuthenticityConfig(AppConfig):
    name = "authenticity"
    verbose_name = _("Data authenticity")

    def ready(self) -> None:
        # Scoring hangs off the annotation's save so no submit path has to remember to call it.
        from django.db.models.signals import post_save

        from annotations.models import Annotation

        post_save.connect(_annotation_saved, sender=Annotation, dispatch_uid="authenticity-score-annotation")


def _annotation_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if not created or raw:
        return
    from django.db import transaction

    from .tasks import enqueue_scoring

    annotation_id = instance.pk
    transaction.on_commit(lambda: enqueue_scoring(annotation_id))
