"""Turns lower layers' facts into webhook deliveries: the sink of ``core.events`` and the consensus
outcome listener (item finalised, campaign progress milestones). Registered in ``ExportsConfig.ready``."""
from __future__ import annotations

from django.db.models import Count, Q

from annotations.models import Consensus
from organizations.models import Organization
from tasks.models import Item

from .models import Webhook
from .webhooks import notify

MILESTONES = (25, 50, 75, 100)  # per cent of a campaign's (non-gold) items finalised


def deliver_event(*, event: str, organization_id: int, object_id: int, data: dict, key: str = "") -> None:
    """``core.events`` sink: one delivery per interested webhook of the organisation."""
    if not Webhook.objects.filter(organization_id=organization_id, is_active=True).exists():
        return
    organization = Organization.objects.get(pk=organization_id)
    notify(organization=organization, event=event, object_id=object_id, data=data, key=key)


def items_finalised(item_ids: list[int]) -> None:
    """Consensus outcome listener: ``item.finalised`` per item, ``campaign.progress`` per milestone crossed.

    Organisations without an active webhook cost one query. Each (webhook, event, object, milestone) is
    delivered once, however often a re-score finalises the same item again (the delivery's unique key).
    """
    with_hooks = set(Webhook.objects.filter(is_active=True).values_list("organization_id", flat=True).distinct())
    if not with_hooks:
        return
    rows = list(Item.objects.filter(pk__in=item_ids, is_gold=False, campaign__organization_id__in=with_hooks,
                                    consensus__state=Consensus.State.FINALISED)
                .values_list("pk", "external_id", "campaign_id", "campaign__organization_id",
                             "consensus__agreement"))
    organizations = Organization.objects.in_bulk({row[3] for row in rows})
    campaigns: dict[int, int] = {}
    for item_id, external_id, campaign_id, org_id, agreement in rows:
        campaigns[campaign_id] = org_id
        notify(organization=organizations[org_id], event=Webhook.Event.ITEM_FINALISED, object_id=item_id,
               data={"item": item_id, "external_id": external_id, "campaign": campaign_id, "agreement": agreement})
    for campaign_id, org_id in campaigns.items():
        counts = Item.objects.filter(campaign_id=campaign_id, is_gold=False).aggregate(
            total=Count("id"), finalised=Count("id", filter=Q(consensus__state=Consensus.State.FINALISED)))
        if not counts["total"]:
            continue
        percent = 100 * counts["finalised"] / counts["total"]
        for milestone in MILESTONES:
            if percent >= milestone:
                notify(organization=organizations[org_id], event=Webhook.Event.CAMPAIGN_PROGRESS,
                       object_id=campaign_id, key=str(milestone),
                       data={"campaign": campaign_id, "milestone": milestone, "finalised": counts["finalised"],
                             "items": counts["total"]})
