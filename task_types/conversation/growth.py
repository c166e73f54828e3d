"""How a conversation grows (Open Assistant's tree): every written turn is a branch, siblings get ranked.

Runs inside the submit transaction (``TaskType.on_submit``), so the new items exist exactly when the answer
does. The queue decides which branch gets work next: new items carry priority ``-depth`` (the queue serves
higher priority first), so short branches are extended before long ones and every message collects its
``overlap`` replies before the tree goes deeper.
"""
from __future__ import annotations

from tasks.models import Campaign, Item
from tasks.services import new_item

from .task import next_role


def message_id(annotation) -> str:
    return f"a{annotation.pk}"


def _add(campaign, payload: dict, external_id: str, *, priority: int = 0, author=None) -> None:
    if Item.objects.filter(campaign=campaign, external_id=external_id).exists():
        return
    item = new_item(campaign, payload=campaign.task.validate_item(payload, campaign.config),
                    external_id=external_id, priority=priority)
    item.source_contributor_id = author  # never served to its own author
    item.save()


def grow(annotation) -> None:
    campaign, item = annotation.campaign, annotation.item
    messages = list(item.payload["messages"])
    tree_id = item.payload.get("tree_id") or f"item-{item.pk}"
    reply = {"role": annotation.payload["role"], "content": annotation.payload["text"], "id": message_id(annotation)}
    branch = [*messages, reply]
    # 1. The branch continues in this campaign: someone writes the turn after this one.
    if len(branch) < campaign.config.get("max_turns", 12):
        _add(campaign, {"tree_id": tree_id, "messages": branch}, f"turn-{annotation.pk}",
             priority=-len(branch), author=annotation.contributor_id)
    # 2. Campaigns fed by this one: rank the siblings once all are in, rate each assistant reply.
    targets = Campaign.objects.filter(
        organization_id=campaign.organization_id, task_type="conversation", config__source_campaign=campaign.pk,
    ).exclude(status__in=[Campaign.Status.ARCHIVED, Campaign.Status.COMPLETED])
    if not targets:
        return
    siblings = list(item.annotations.order_by("id").values_list("pk", "payload"))
    full = len(siblings) >= item.target_overlap
    for target in targets:
        mode = target.config.get("mode")
        if mode == "rate" and reply["role"] == "assistant":
            _add(target, {"tree_id": tree_id, "messages": branch}, f"rate-{annotation.pk}")
        elif mode == "rank" and full and len(siblings) >= 2 and next_role(messages) == "assistant":
            responses = [{"text": p["text"], "id": f"a{pk}"} for pk, p in siblings]
            _add(target, {"tree_id": tree_id, "messages": messages, "responses": responses}, f"rank-{item.pk}")
