"""Celery jobs of the assist app, all on the ``assist`` queue (config/settings.py routes ``assist.tasks.*``):
a slow or failing backend only ever delays these, never the queue, a submit or a consensus job.

Retries: a transient failure (timeout, connection, 5xx, 429) is retried ``backend.max_retries`` times with
exponential back-off (ASSIST_RETRY_BACKOFF_SECONDS * 2**attempt); an open breaker defers the batch to the
end of its cool-down, once. Every job recomputes from stored state, so a redelivered one does no harm.
"""
from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from annotations.models import Consensus

from . import services
from .client import BATCH_SIZE, CallFailed
from .models import ModelBackend

logger = logging.getLogger(__name__)


def _backoff(attempt: int) -> float:
    return float(getattr(settings, "ASSIST_RETRY_BACKOFF_SECONDS", 2.0)) * (2 ** attempt)


@shared_task(acks_late=True)
def predict_batch(backend_id: int, item_ids: list[int], attempt: int = 0) -> str:
    backend = ModelBackend.objects.select_related("campaign").filter(pk=backend_id, enabled=True).first()
    if backend is None:
        return "disabled"
    try:
        return f"stored {services.predict(backend=backend, item_ids=item_ids)}"
    except services.BreakerOpen:
        if attempt < backend.max_retries:
            predict_batch.apply_async(args=[backend_id, item_ids, attempt + 1],
                                      countdown=backend.breaker_cooldown_seconds)
        return "breaker open"
    except CallFailed as failure:
        if failure.transient and attempt < backend.max_retries:
            predict_batch.apply_async(args=[backend_id, item_ids, attempt + 1], countdown=_backoff(attempt))
            return f"{failure.outcome}: retrying"
        return failure.outcome


@shared_task(acks_late=True)
def request_suggestions(campaign_id: int, backend_id: int | None = None, only_missing: bool = True) -> int:
    """Ask the campaign's enabled backends (or one) about its open and gold items, in batches of 64."""
    backends = ModelBackend.objects.filter(campaign_id=campaign_id, enabled=True)
    if backend_id is not None:
        backends = backends.filter(pk=backend_id)
    batches = 0
    for backend in backends:
        ids = services.items_needing_suggestions(backend, only_missing=only_missing)
        for start in range(0, len(ids), BATCH_SIZE):
            predict_batch.delay(backend.pk, ids[start:start + BATCH_SIZE])
            batches += 1
    return batches


@shared_task(acks_late=True)
def train_backend(backend_id: int, attempt: int = 0) -> str:
    """Retrain on the campaign's consensus, then ask again about every open item (the model changed)."""
    backend = ModelBackend.objects.select_related("campaign").filter(pk=backend_id, enabled=True).first()
    if backend is None:
        return "disabled"
    try:
        sent = services.train(backend=backend)
    except services.BreakerOpen:
        return "breaker open"
    except CallFailed as failure:
        if failure.transient and attempt < backend.max_retries:
            train_backend.apply_async(args=[backend_id, attempt + 1], countdown=_backoff(attempt))
        return failure.outcome
    request_suggestions.delay(backend.campaign_id, backend.pk, False)
    return f"trained on {sent}"


@shared_task(acks_late=True)
def check_backend(backend_id: int) -> str:
    backend = ModelBackend.objects.select_related("campaign").get(pk=backend_id)
    return services.check_health(backend=backend).outcome


@shared_task(acks_late=True)
def classify_answers() -> int:
    """Beat sweep: classify the answers given with a suggestion shown (accepted / edited / rejected)."""
    return services.classify_exposures()


@shared_task(acks_late=True)
def forget_old_calls() -> int:
    return services.forget_old_calls()


# --- listeners registered at start-up (assist/apps.py) -------------------------------------------------------

def _enqueue(job, *args) -> None:
    try:
        job.delay(*args)
    except Exception:  # noqa: BLE001 - a broker outage must not fail the import or the consensus that called
        logger.warning("could not enqueue %s%r", job.name, args, exc_info=True)


def after_import(campaign_id: int) -> None:
    """An import committed: backends that ask at import get the items they have no suggestion for."""
    if ModelBackend.objects.filter(campaign_id=campaign_id, enabled=True, predict_on_import=True).exists():
        _enqueue(request_suggestions, campaign_id)


RETRAIN_DEBOUNCE_SECONDS = 30


def after_consensus(item_ids: list[int]) -> None:
    """A consensus round finalised items: retrain the backends that ask for it (at most once per 30 s each,
    so a campaign finalising item after item does not retrain per item)."""
    campaigns = set(Consensus.objects.filter(item_id__in=item_ids).values_list("campaign_id", flat=True))
    for backend_id in ModelBackend.objects.filter(campaign_id__in=campaigns, enabled=True,
                                                  retrain_after_consensus=True).values_list("id", flat=True):
        if cache.add(f"assist:retrain:{backend_id}", 1, RETRAIN_DEBOUNCE_SECONDS):
            _enqueue(train_backend, backend_id)
