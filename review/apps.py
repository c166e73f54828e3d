from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = _("Review and console")

    def ready(self):
        # Models are importable only once the registry is ready.
        from annotations.models import CampaignScoring
        from consensus.engine import register_exclusion_source
        from organizations.models import Membership

        from . import signals
        from .selectors import rejected_answers

        register_exclusion_source(rejected_answers)  # expert rejections leave consensus
        post_migrate.connect(signals.sync_groups_after_migrate, dispatch_uid="review-sync-groups")
        post_save.connect(signals.membership_changed, sender=Membership, dispatch_uid="review-membership-save")
        post_delete.connect(signals.membership_changed, sender=Membership, dispatch_uid="review-membership-delete")
        post_save.connect(signals.campaign_scoring_saved, sender=CampaignScoring, dispatch_uid="review-quality-trend")
