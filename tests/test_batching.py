"""core.batching on the real Redis: one drain per window, every id handled once, a failure isolated."""
import uuid

import pytest
from django.conf import settings

from core.batching import DebouncedBatch
from core.cache import redis_client

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


def test_adds_inside_one_round_trip_reach_redis_together_at_its_end():
    from core.batching import one_round_trip

    first = DebouncedBatch(f"test-{uuid.uuid4().hex[:8]}")
    second = DebouncedBatch(f"test-{uuid.uuid4().hex[:8]}")
    publisher_a, publisher_b = Publisher(), Publisher()
    client = redis_client()
    try:
        with one_round_trip():
            assert first.add(1, drain_task=publisher_a, delay=1.0)
            assert first.add(2, drain_task=publisher_a, delay=1.0)
            assert second.add(9, drain_task=publisher_b, delay=2.0)
            # Nothing sent yet: the adds wait for the end of the block.
            assert client.scard(first.pending_key) == 0 and client.scard(second.pending_key) == 0
            assert publisher_a.calls == [] and publisher_b.calls == []
        assert {int(x) for x in client.smembers(first.pending_key)} == {1, 2}
        assert {int(x) for x in client.smembers(second.pending_key)} == {9}
        # Each batch's window opened once: one drain each, as with adds one at a time.
        assert publisher_a.calls == [1.0] and publisher_b.calls == [2.0]
    finally:
        client.delete(*first.keys(), *second.keys())


def test_a_failed_publish_at_the_end_of_one_round_trip_is_logged_not_raised(caplog):
    from core.batching import one_round_trip

    class BrokerDown:
        def apply_async(self, countdown):
            raise ConnectionError("broker down")

    batch = DebouncedBatch(f"test-{uuid.uuid4().hex[:8]}")
    try:
        with caplog.at_level("WARNING", logger="core.batching"), one_round_trip():
            batch.add(3, drain_task=BrokerDown(), delay=1.0)
        assert "could not queue 1 follow-up ids" in caplog.text
        assert redis_client().sismember(batch.pending_key, 3)  # the id waits for the next drain or the sweep
    finally:
        redis_client().delete(*batch.keys())


def test_round_trip_replies_in_order_survives_a_dropped_connection_and_never_reuses_a_broken_one():
    import redis

    from core.cache import round_trip

    client = redis_client()
    key = f"test-rt-{uuid.uuid4().hex[:8]}"
    try:
        assert round_trip(client, [("SET", key, "7"), ("INCR", key), ("GET", key)]) == [b"OK", 8, b"8"]
        # Redis dropped the connection (a restart, a timeout): the commands go out again, on a new one.
        (own_id,) = round_trip(client, [("CLIENT", "ID")])
        killer = redis.Redis.from_url(settings.REDIS_URL)
        assert killer.execute_command("CLIENT", "KILL", "ID", own_id) == 1
        killer.close()
        assert round_trip(client, [("INCR", key)]) == [9]
        # An error reply raises; the replies after it are never read by the next caller.
        client.set(key, "not a number")
        with pytest.raises(redis.ResponseError):
            round_trip(client, [("INCR", key), ("SET", key, "1")])
        assert round_trip(client, [("INCR", key)]) == [2]
    finally:
        client.delete(key)
