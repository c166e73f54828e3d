"""Celery jobs of the review app (queue ``default``)."""
from celery import shared_task
from django.utils import timezone
from django.utils.translation import override

from tasks.models import Campaign

from .selectors import compute_dashboard_figures, dashboard_stamp
from .services import store_dashboard_summary


@shared_task(acks_late=True, queue="default")
def refresh_dashboard(campaign_id: int, language: str) -> bool:
    """Compute and store a big campaign's dashboard figures (the page serves the stored ones meanwhile)."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return False
    with override(language):
        stamp = dashboard_stamp(campaign)
        figures = compute_dashboard_figures(campaign, timezone.now())
        store_dashboard_summary(campaign=campaign, language=language, stamp=stamp, figures=figures)
    return True
