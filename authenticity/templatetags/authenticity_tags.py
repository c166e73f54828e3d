"""``{% authenticity_report campaign %}``: the dataset-level authenticity report, for any page (the campaign
dashboard includes it) without the page's view having to know about the authenticity app."""
import logging

from django import template

from authenticity.selectors import dataset_report

register = template.Library()
logger = logging.getLogger(__name__)


@register.inclusion_tag("authenticity/report.html")
def authenticity_report(campaign) -> dict:

    try:
        return {"report": dataset_report(campaign)}
    except Exception:  # noqa: BLE001 - a dashboard must render even if the report fails
        logger.exception("authenticity report failed for campaign %s", getattr(campaign, "pk", None))
        return {"report": None}
