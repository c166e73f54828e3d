"""Keep role groups in step with memberships, and the groups' permissions with the installed models."""
from django.apps import apps

from .roles import sync_role_groups, sync_user_roles
from .services import record_quality_snapshot


def sync_groups_after_migrate(sender, **kwargs):
    # post_migrate is sent once per app; auth creates each app's permissions in its own call, so wait
    # for the last app, when every model's permissions exist.


    if sender.label != list(apps.get_app_configs())[-1].label:
        return

    sync_role_groups()


def membership_changed(sender, instance, **kwargs):

    sync_user_roles(instance.user)


def campaign_scoring_saved(sender, instance, **kwargs):
    """A campaign re-fit (annotations.CampaignScoring) adds a point to the dashboard's alpha trend."""

    record_quality_snapshot(campaign_id=instance.campaign_id, report=instance.report or {},
                            n_answers=instance.n_answers, method=instance.method, taken_at=instance.fitted_at)
