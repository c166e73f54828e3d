"""Periodic contributor housekeeping (beat schedule in config/settings.py)."""
from celery import shared_task

from . import services


@shared_task
def purge_identity_documents() -> int:
    """Delete identity document files past the retention period."""
    return services.purge_identity_documents()
