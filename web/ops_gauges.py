"""Gauges read when /metrics is scraped (not kept by any process): open leases and Celery queue lengths.

Open leases are counted on the partial unique index of open leases (``uniq_open_lease``); queue lengths are
the Redis lists Celery's Redis transport keeps per queue. Each read is bounded (a statement timeout, the
cache's socket timeout) and a failure only leaves the gauge out of that scrape.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from prometheus_client.core import GaugeMetricFamily

from tasks.models import Assignment

logger = logging.getLogger(__name__)
CELERY_QUEUES = ("default", "consensus", "export")


class ScrapeTimeGauges:
    def collect(self):
        try:
            gauge = GaugeMetricFamily("annotate_queue_open_leases", "Leases open now (given, not yet submitted)")
            gauge.add_metric([], Assignment.objects.filter(state=Assignment.State.LEASED).count())
            yield gauge
        except Exception:  # noqa: BLE001 - the database may be down; /readyz says so
            logger.warning("open-lease gauge unavailable", exc_info=False)
            connection.close_if_unusable_or_obsolete()
        broker = settings.CELERY_BROKER_URL
        if broker.startswith(("redis://", "rediss://")):
            try:
                import redis

                client = redis.Redis.from_url(broker, socket_connect_timeout=1, socket_timeout=1)
                lengths = GaugeMetricFamily("annotate_celery_queue_length", "Messages waiting per Celery queue",
                                            labels=["queue"])
                with client.pipeline(transaction=False) as pipe:
                    for queue in CELERY_QUEUES:
                        pipe.llen(queue)
                    for queue, n in zip(CELERY_QUEUES, pipe.execute(), strict=True):
                        lengths.add_metric([queue], n)
                client.close()
                yield lengths
            except Exception:  # noqa: BLE001
                logger.warning("Celery queue-length gauge unavailable", exc_info=False)
