from django.apps import AppConfig, apps
from django.db.models.signals import post_delete, post_migrate, post_save


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = "Review and console"

    def ready(self):
        from django.contrib import admin
        from django.utils.translation import gettext_lazy as _

        admin.site.site_header = _("Annotation platform console")
        admin.site.site_title = _("Console")
        admin.site.index_title = _("Campaigns, review and contributors")
        from organizations.models import Membership

        from . import signals

        post_migrate.connect(signals.sync_groups_after_migrate, dispatch_uid="review-sync-groups")
        post_save.connect(signals.membership_changed, sender=Membership, dispatch_uid="review-membership-save")
        post_delete.connect(signals.membership_changed, sender=Membership, dispatch_uid="review-membership-delete")
        try:
            scoring = apps.get_model("annotations", "CampaignScoring")
        except LookupError:  # the consensus app without campaign-level fits: no alpha trend
            scoring = None
        if scoring is not None:
            post_save.connect(signals.campaign_scoring_saved, sender=scoring, dispatch_uid="review-quality-trend")
