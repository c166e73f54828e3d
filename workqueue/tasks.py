"""Celery tasks of the queue (queue ``default``)."""
from celery import shared_task

from .expiry import reclaim_expired_leases


@shared_task(acks_late=True)
def sweep_expired_leases() -> int:
    """Housekeeping: the pick also reclaims expired leases, so this is not needed for correctness."""
    total = 0
    while True:
        n = reclaim_expired_leases(limit=500)
        total += n
        if n < 500:
            return total
