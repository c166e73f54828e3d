"""Celery tasks for consensus (queue ``consensus``). Idempotent: a re-run recomputes from all answers.

``score_item`` runs per item after submissions (debounced); ``run_consensus_job`` re-scores a whole
campaign (Dawid-Skene needs the whole answer matrix), started from the admin, the API or beat via
``rescore_active_campaigns``. All are acks_late: a killed worker's job is redelivered and re-runs
without double-counting trust (see consensus.engine).
"""
import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from annotations.models import Annotation, CampaignScoring, ConsensusJob
from consensus import engine  # the module: the engine starts these jobs
from core.batching import DebouncedBatch
from tasks.models import Campaign, Item

logger = logging.getLogger(__name__)


SCORING_BATCH = DebouncedBatch("consensus", batch_size=200)


def schedule_item_scoring(item_id: int) -> None:
    """Debounced: items to score collect in a batch (core.batching) and one drain job per debounce
    window scores them all, so a burst of submissions (on one item or on many) makes one job."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        score_item.delay(item_id)
        return
    delay = settings.CONSENSUS_DEBOUNCE_SECONDS
    try:
        if not SCORING_BATCH.add(item_id, drain_task=drain_item_scoring, delay=delay):
            score_item.apply_async(args=[item_id], countdown=delay)
    except Exception:  # noqa: BLE001 - broker down: the periodic re-score picks the item up later
        logger.warning("could not enqueue consensus for item %s; the sweep will", item_id, exc_info=True)


@shared_task(acks_late=True)
def drain_item_scoring() -> int:
    """Score every item waiting in the batch; a failure is retried alone by score_item."""

    return SCORING_BATCH.drain(engine.score_item_consensus,
                               on_error=lambda item_id: score_item.apply_async(args=[item_id], countdown=5))


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def score_item(item_id: int) -> str:

    cache.delete(f"consensus:pending:{item_id}")
    consensus = engine.score_item_consensus(item_id)
    return consensus.state if consensus else "missing"


@shared_task(acks_late=True, bind=True, max_retries=3)
def run_consensus_job(self, job_id: int) -> str:
    """Re-score one campaign and record progress and figures on its ConsensusJob row.

    A redelivered job (the worker died) finds the row "running" with an old start and runs it again;
    a finished job is not re-run. A failure is recorded on the row and never escapes as a crash loop.
    """

    job = ConsensusJob.objects.filter(pk=job_id).first()
    if job is None or job.status in (ConsensusJob.Status.SUCCEEDED, ConsensusJob.Status.FAILED):
        return "done"
    lock = f"consensus:campaign:{job.campaign_id}"
    if not cache.add(lock, job_id, timeout=settings.CONSENSUS_JOB_STALE_SECONDS):
        if cache.get(lock) != job_id:
            raise self.retry(countdown=30)  # another job of this campaign is running
    try:
        ConsensusJob.objects.filter(pk=job_id).update(
            status=ConsensusJob.Status.RUNNING, started_at=timezone.now(), attempts=job.attempts + 1, error=""
        )
        try:
            figures = engine.rescore_campaign(campaign_id=job.campaign_id, job=job)
        except Campaign.DoesNotExist:  # deleted meanwhile (its job row went with it): nothing to score
            logger.info("consensus job %s: campaign %s was deleted", job_id, job.campaign_id)
            return "gone"
        except Exception as exc:  # recorded for the admin; the campaign stays as it was
            logger.exception("consensus job %s failed", job_id)
            ConsensusJob.objects.filter(pk=job_id).update(
                status=ConsensusJob.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000],
                finished_at=timezone.now(),
            )
            return "failed"
        ConsensusJob.objects.filter(pk=job_id).update(
            status=ConsensusJob.Status.SUCCEEDED, stage="done", progress=1.0, finished_at=timezone.now(),
            method=figures["method"], algorithm_version=figures["algorithm_version"],
            n_answers=figures["n_answers"], n_items=figures["n_items"], timings=figures.pop("timings"),
            counts=figures,
        )
        return "succeeded"
    finally:
        if cache.get(lock) == job_id:
            cache.delete(lock)


@shared_task(acks_late=True)
def rescore_active_campaigns() -> int:
    """Beat: score full items that have no consensus yet (e.g. enqueued while Redis was down), and start
    a campaign re-score where answers arrived since the last fit. Returns how many things it started."""


    pending = Item.objects.filter(
        campaign__status=Campaign.Status.ACTIVE, done_count__gte=F("target_overlap"), consensus__isnull=True
    ).values_list("id", flat=True)[:5000]
    count = 0
    for item_id in pending:
        engine.score_item_consensus(item_id)
        count += 1
    stale = timezone.now() - timedelta(seconds=settings.CONSENSUS_JOB_STALE_SECONDS)
    ConsensusJob.objects.filter(status=ConsensusJob.Status.RUNNING, started_at__lt=stale).update(
        status=ConsensusJob.Status.FAILED, error="No progress: the worker was lost.", finished_at=timezone.now()
    )
    fitted = CampaignScoring.objects.filter(campaign=OuterRef("pk"))
    newer = Annotation.objects.filter(campaign=OuterRef("pk"))
    campaigns = Campaign.objects.filter(status=Campaign.Status.ACTIVE).filter(
        Exists(newer) & ~Exists(fitted)
        | Exists(newer.filter(created_at__gt=OuterRef("scoring__fitted_at")))
    )
    for campaign in campaigns[:50]:
        engine.start_campaign_rescore(campaign=campaign, trigger="beat")
        count += 1
    return count
