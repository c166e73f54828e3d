"""Debounced batches of ids in Redis, drained by one Celery job per window.

After each submission the platform schedules follow-up work per answer (authenticity scoring) and per
item (consensus). A Celery message each cost ~7% of a next + submit cycle's CPU (README, "The queue");
adding an id to a Redis set and publishing at most one drain job per window costs one round trip.
Without Redis (the embedded default) there is nothing to batch in: ``add`` says so and the caller
runs or publishes the job directly.
"""
from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from contextlib import contextmanager

from core.cache import redis_client, round_trip

logger = logging.getLogger(__name__)

# Adds waiting for the end of ``one_round_trip`` (None outside one).
_collected: contextvars.ContextVar[list | None] = contextvars.ContextVar("batching_collected", default=None)


@contextmanager
def one_round_trip():
    """Adds made inside (to any batch) go to Redis together at the end, in one round trip.

    A submission schedules an answer's authenticity scoring and, when it fills its item, the item's
    consensus: two round trips on the platform's hottest write, one with this. At the end, a failure
    (Redis or the broker down) is logged, not raised, as each caller does with ``add``'s errors: the
    sweeps of both kinds of work repair a lost add.
    """
    pending: list = []
    token = _collected.set(pending)
    try:
        yield
    finally:
        _collected.reset(token)
        if pending:
            try:
                _publish(pending, redis_client())
            except Exception:  # noqa: BLE001 - the work is done; the sweeps schedule what was lost
                logger.warning("could not queue %d follow-up ids; the sweeps will", len(pending), exc_info=True)


def _publish(entries: list, client) -> None:
    """SADD each (batch, id) and open each batch's window, in one pipeline; publish the drains of the
    windows that were not open yet."""
    commands = []
    for batch, ident, _drain_task, delay in entries:
        commands.append(("SADD", batch.pending_key, ident))
        commands.append(("SET", batch.scheduled_key, 1, "NX", "EX", max(5, int(delay) + 5)))
    replies = round_trip(client, commands)
    published = set()
    for (batch, _ident, drain_task, delay), first in zip(entries, replies[1::2], strict=True):
        if first and batch.scheduled_key not in published:
            published.add(batch.scheduled_key)
            drain_task.apply_async(countdown=delay)


class DebouncedBatch:
    def __init__(self, name: str, *, batch_size: int = 500):
        self.pending_key = f"{name}:pending-ids"
        self.scheduled_key = f"{name}:drain-scheduled"
        self.batch_size = batch_size

    def add(self, ident: int, *, drain_task, delay: float) -> bool:
        """Queue ``ident``; the first add of a window publishes ``drain_task`` ``delay`` seconds later.
        False when there is no Redis to batch in. Errors (Redis or the broker down) propagate; inside
        ``one_round_trip`` the add waits for its end, which logs them."""
        client = redis_client()
        if client is None:
            return False
        entry = (self, ident, drain_task, delay)
        collected = _collected.get()
        if collected is not None:
            collected.append(entry)
        else:
            _publish([entry], client)
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
