"""Celery tasks for consensus (queue ``consensus``). Idempotent: a re-run recomputes from all answers."""
import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def schedule_item_scoring(item_id: int) -> None:
    """Debounced per item: a burst of submissions on one item makes one job."""
    key = f"consensus:pending:{item_id}"
    delay = settings.CONSENSUS_DEBOUNCE_SECONDS
    if settings.CELERY_TASK_ALWAYS_EAGER:
        score_item.delay(item_id)
        return
    if cache.add(key, 1, timeout=max(1, int(delay) + 5)):
        try:
            score_item.apply_async(args=[item_id], countdown=delay)
        except Exception:  # broker down: the periodic re-score picks the item up later
            cache.delete(key)
            logger.warning("could not enqueue consensus for item %s; the sweep will", item_id, exc_info=True)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def score_item(item_id: int) -> str:
    from .services import score_item_consensus

    cache.delete(f"consensus:pending:{item_id}")
    consensus = score_item_consensus(item_id)
    return consensus.state if consensus else "missing"


@shared_task(acks_late=True)
def rescore_active_campaigns() -> int:
    """Safety net: score full items that have no consensus yet (e.g. enqueued while Redis was down)."""
    from django.db.models import F

    from tasks.models import Campaign, Item

    from .services import score_item_consensus

    pending = Item.objects.filter(
        campaign__status=Campaign.Status.ACTIVE, done_count__gte=F("target_overlap"), consensus__isnull=True
    ).values_list("id", flat=True)[:5000]
    count = 0
    for item_id in pending:
        score_item_consensus(item_id)
        count += 1
    return count
