"""config.batching on the real Redis: one drain per window, every id handled once, a failure isolated."""
import uuid

import pytest
from django.conf import settings

from config.batching import DebouncedBatch
from config.cache import redis_client

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="batching needs Redis (the embedded default runs jobs directly)")


class Publisher:
    """Stands in for a Celery task's apply_async: records when a drain would be published."""

    def __init__(self):
        self.calls = []

    def apply_async(self, countdown):
        self.calls.append(countdown)


def test_one_drain_per_window_every_id_once_and_a_failure_isolated():
    batch = DebouncedBatch(f"test-{uuid.uuid4().hex[:8]}", batch_size=2)
    publisher = Publisher()
    try:
        for ident in (5, 6, 7, 6):  # 6 twice: a set, so scored once
            assert batch.add(ident, drain_task=publisher, delay=1.5)
        assert publisher.calls == [1.5]  # only the window's first add publishes

        handled, failed = [], []

        def handle(ident):
            if ident == 6:
                raise ValueError("legacy row")
            handled.append(ident)

        assert batch.drain(handle, on_error=failed.append) == 3
        assert sorted(handled) == [5, 7] and failed == [6]
        assert redis_client().scard(batch.pending_key) == 0

        batch.add(8, drain_task=publisher, delay=1.5)  # the drain reopened the window
        assert publisher.calls == [1.5, 1.5]
    finally:
        redis_client().delete(*batch.keys())
