"""Periodic jobs over the stored answers (beat schedule in config/settings.py)."""
from celery import shared_task

from .speed_scan import scan_task_speeds as _scan_task_speeds


@shared_task
def scan_task_speeds() -> int:
    """Record impossible task speeds since the last scan."""
    return _scan_task_speeds()
