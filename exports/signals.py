"""Webhook trigger for a completed campaign, whichever code path (admin, API, consensus) completes it."""
from django.db import transaction

from .webhooks import notify


def campaign_saved(sender, instance, created, **kwargs):
    if instance.status != "completed":
        return

    # notify() is idempotent per (webhook, event, campaign): later saves of a completed campaign send nothing.
    transaction.on_commit(lambda: notify(
        organization=instance.organization, event="campaign.completed", object_id=instance.pk,
        data={"campaign": instance.pk, "name": instance.name, "task_type": instance.task_type},
    ))
