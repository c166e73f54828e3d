"""Debounced batches of ids in Redis, drained by one Celery job per window.

After each submission the platform schedules follow-up work per answer (authenticity scoring) and per
item (consensus). A Celery message each cost ~7% of a next + submit cycle's CPU (README, "The queue");
adding an id to a Redis set and publishing at most one drain job per window costs one round trip.
Without Redis (the embedded default) there is nothing to batch in: ``add`` says so and the caller
runs or publishes the job directly.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from config.cache import redis_client

logger = logging.getLogger(__name__)


class DebouncedBatch:
    def __init__(self, name: str, *, batch_size: int = 500):
        self.pending_key = f"{name}:pending-ids"
        self.scheduled_key = f"{name}:drain-scheduled"
        self.batch_size = batch_size

    def add(self, ident: int, *, drain_task, delay: float) -> bool:
        """Queue ``ident``; the first add of a window publishes ``drain_task`` ``delay`` seconds later.
        False when there is no Redis to batch in. Errors (Redis or the broker down) propagate."""
        client = redis_client()
        if client is None:
            return False
        pipe = client.pipeline(transaction=False)
        pipe.sadd(self.pending_key, ident)
        pipe.set(self.scheduled_key, 1, nx=True, ex=max(5, int(delay) + 5))
        _added, first = pipe.execute()
        if first:
            drain_task.apply_async(countdown=delay)
        return True

    def drain(self, handle: Callable[[int], object], *, on_error: Callable[[int], object] | None = None) -> int:
        """Run ``handle`` on every queued id (ids added meanwhile schedule the next drain); one failure is
        logged and handed to ``on_error``, never lost with the rest of the batch."""
        client = redis_client()
        if client is None:
            return 0
        client.delete(self.scheduled_key)
        count = 0
        while True:
            ids = client.spop(self.pending_key, self.batch_size)
            if not ids:
                return count
            for raw in ids:
                ident = int(raw)
                try:
                    handle(ident)
                except Exception:  # noqa: BLE001 - the others still run; on_error (or a sweep) retries this one
                    logger.warning("%s: id %s failed", self.pending_key, ident, exc_info=True)
                    if on_error is not None:
                        on_error(ident)
                count += 1

    def keys(self) -> tuple[str, str]:
        return self.pending_key, self.scheduled_key
