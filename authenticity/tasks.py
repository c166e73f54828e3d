"""Celery tasks for authenticity (queue ``default``). Idempotent: a re-run recomputes the score."""
import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from annotations.models import Annotation
from core.batching import DebouncedBatch
from tasks.models import Campaign

from . import (
    services,  # the module: services starts these jobs, so neither may need the other's names at import
)

logger = logging.getLogger(__name__)


SCORING_BATCH = DebouncedBatch("authenticity")
DRAIN_DELAY_SECONDS = 1.0


def enqueue_scoring(annotation_id: int) -> None:
    """Called on commit of a new answer (workqueue.followups, from the submit); a broker outage is repaired by
    the sweep, never raised.

    With Redis the answers are batched (core.batching): one drain job per second scores them all.
    """
    try:
        if settings.CELERY_TASK_ALWAYS_EAGER or not SCORING_BATCH.add(
            annotation_id, drain_task=drain_scoring_queue, delay=DRAIN_DELAY_SECONDS
        ):
            score_annotation_task.apply_async(args=[annotation_id], queue="default")
    except Exception:  # noqa: BLE001 - the submission already succeeded; the sweep scores it later
        logger.warning("could not enqueue authenticity scoring of annotation %s", annotation_id, exc_info=True)


@shared_task(acks_late=True, queue="default")
def drain_scoring_queue() -> int:
    """Score every answer waiting in the batch (a failed one is left to the sweep, score_missing)."""

    return SCORING_BATCH.drain(services.score_annotation)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def score_annotation_task(annotation_id: int) -> str:

    record = services.score_annotation(annotation_id)
    if record is None:
        return "skipped"
    return "flagged" if record.flagged else "ok"


RESCORE_CHUNK = 500


@shared_task(acks_late=True)
def rescore_campaign(campaign_id: int) -> int:
    """Rescore every answer of a campaign (after new reference LLM texts or a policy change), in chunks of
    RESCORE_CHUNK answers so no single job outlives the broker's visibility timeout at a million answers."""

    ids = Annotation.objects.filter(campaign_id=campaign_id).order_by("id").values_list("id", flat=True)
    chunk: list[int] = []
    count = 0
    for annotation_id in ids.iterator(chunk_size=RESCORE_CHUNK):
        chunk.append(annotation_id)
        if len(chunk) == RESCORE_CHUNK:
            score_annotations.delay(chunk)
            count += len(chunk)
            chunk = []
    if chunk:
        score_annotations.delay(chunk)
        count += len(chunk)
    return count


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def score_annotations(annotation_ids: list[int]) -> int:

    for annotation_id in annotation_ids:
        services.score_annotation(annotation_id)
    return len(annotation_ids)


@shared_task(acks_late=True)
def score_missing(limit: int = 5000) -> int:
    """Safety net (beat): score answers whose job was lost while the broker was down."""


    count = 0
    # Lost jobs are recent ones; older answers (e.g. before this app existed) are scored by rescore_campaign.
    since = timezone.now() - timedelta(days=2)
    pending = (
        Annotation.objects.filter(created_at__gte=since, authenticity__isnull=True)
        .order_by("id").values_list("id", flat=True)[:limit]
    )
    for annotation_id in list(pending):
        services.score_annotation(annotation_id)
        count += 1
    return count


@shared_task(acks_late=True, queue="default")
def refresh_report_task(campaign_id: int, language: str) -> bool:
    """Store a campaign's authenticity panel again (the dashboard asked; a big campaign's pass takes seconds)."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return False
    services.refresh_report(campaign, language=language)
    return True
