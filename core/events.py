"""Organisation events (webhook-worthy facts) raised by lower layers, delivered by an upper one.

The app that knows a fact (consensus: an item finalised; payments: a budget spent; authenticity: a flag
raised or resolved) calls ``emit``; it cannot import the webhook machinery, which lives in ``exports``,
an upper layer. ``exports`` registers its sink at ``ready()``. Events are emitted after the surrounding
transaction commits, so a rolled-back change announces nothing; a sink's failure is logged, never raised
into the caller (the fact is stored; the event is a notification).
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

log = logging.getLogger(__name__)

ITEM_FINALISED = "item.finalised"
CAMPAIGN_PROGRESS = "campaign.progress"
BUDGET_EXHAUSTED = "budget.exhausted"
AUTHENTICITY_FLAG_RAISED = "authenticity.flag_raised"
AUTHENTICITY_FLAG_RESOLVED = "authenticity.flag_resolved"

Sink = Callable[..., object]
_SINKS: list[Sink] = []


def register_sink(sink: Sink) -> None:
    """Called by an upper layer at ready(): ``sink(event=, organization_id=, object_id=, data=, key=)``."""
    if sink not in _SINKS:
        _SINKS.append(sink)


def emit(event: str, *, organization_id: int, object_id: int, data: dict, key: str = "") -> None:
    """Announce ``event`` once the current transaction commits (at once outside a transaction)."""
    if not _SINKS:
        return

    def run() -> None:
        for sink in _SINKS:
            try:
                sink(event=event, organization_id=organization_id, object_id=object_id, data=data, key=key)
            except Exception:  # noqa: BLE001 - a notification must not undo or break the change it reports
                log.warning("event sink %r failed for %s #%s", sink, event, object_id, exc_info=True)

    transaction.on_commit(run)
