from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = "Review and console"

    def ready(self):
        from organizations.models import Membership

        from . import signals

        post_migrate.connect(signals.sync_groups_after_migrate, dispatch_uid="review-sync-groups")
        post_save.connect(signals.membership_changed, sender=Membership, dispatch_uid="review-membership-save")
        post_delete.connect(signals.membership_changed, sender=Membership, dispatch_uid="review-membership-delete")
