"""Test data for the API and export tests: campaigns with answered items and real consensus."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from annotations.models import Annotation
from consensus.engine import score_item_consensus
from tasks.models import Assignment, Item


def answer_items(campaign, contributors, answer_for, *, telemetry=None) -> list[Annotation]:
    """Every contributor answers every item (``answer_for(item_index, contributor_index)``), then consensus.

    Annotations are stored as submit_annotation stores them (validated against the task type's schema);
    consensus is computed by the real scoring function.
    """
    now = timezone.now()
    items = list(Item.objects.filter(campaign=campaign).order_by("id"))
    task = campaign.task
    made = []
    for i, item in enumerate(items):
        for c, user in enumerate(contributors):
            payload = task.validate_annotation(answer_for(i, c), config=campaign.config, item_payload=item.payload,
                                               view={})
            assignment = Assignment.objects.create(
                item=item, campaign=campaign, contributor=user, state=Assignment.State.SUBMITTED,
                expires_at=now + timedelta(minutes=10), finished_at=now,
            )
            made.append(Annotation.objects.create(
                assignment=assignment, item=item, campaign=campaign, contributor=user, payload=payload,
                time_spent_ms=1000 + c, is_gold=item.is_gold,
                telemetry=telemetry or {"schema": 1, "active_ms": 900 + c, "keystrokes": 12, "focus_losses": 0,
                                        "pastes": [{"at_ms": 10, "length": 5, "field": "x"}]},
            ))
        Item.objects.filter(pk=item.pk).update(done_count=len(contributors), open_slots=0)
    for item in items:
        score_item_consensus(item.pk)
    return made
