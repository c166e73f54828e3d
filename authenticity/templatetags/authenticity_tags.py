"""``{% authenticity_report campaign %}``: the dataset-level authenticity report, for any page (the campaign
dashboard includes it) without the page's view having to know about the authenticity app."""
import logging

from django import template

from authenticity.process import reviewer_summary
from authenticity.reasons import reason_label
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


@register.filter
def authorship_summary(components) -> str:
    """The writing-process line of a score's components, in the reviewer's language."""
    proc = (components or {}).get("process") if isinstance(components, dict) else None
    if not proc:
        return ""
    if proc.get("status") == "replayed":
        return reviewer_summary(proc)
    return proc.get("summary") or f"{proc.get('status')} ({proc.get('problem', '')})"


@register.filter
def authorship_reasons(reasons) -> list[dict]:
    """Reason codes with their meaning in the reviewer's language."""
    return [{"code": code, "label": reason_label(code)} for code in (reasons or [])]
