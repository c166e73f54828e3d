"""Reads for campaigns: the open campaign and its progress. The queue's reads are workqueue.selectors."""
from __future__ import annotations

from django.db.models import Count, F, Q, Sum

from core.rawsql import fetch_one

from .models import Campaign


def active_campaign(campaign_id: int) -> Campaign | None:
    """The campaign if it is open for work (hand-written SQL: read on every "next task", see core.rawsql)."""
    return fetch_one(Campaign, "t.id = %s AND t.status = %s", [campaign_id, Campaign.Status.ACTIVE])


def campaign_progress(campaign: Campaign) -> dict:
    agg = campaign.items.aggregate(
        items=Count("id"),
        done=Sum("done_count"),
        target=Sum("target_overlap"),
        complete=Count("id", filter=Q(done_count__gte=F("target_overlap"))),
    )
    return {
        "items": agg["items"] or 0,
        "annotations": agg["done"] or 0,
        "target_annotations": agg["target"] or 0,
        "items_complete": agg["complete"] or 0,
    }

