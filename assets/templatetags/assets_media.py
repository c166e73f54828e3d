"""Show an item's or an answer's media (image, audio) on staff pages, through signed URLs."""
from django import template

from ..selectors import media_urls_for

register = template.Library()


@register.inclusion_tag("assets/media_preview.html", takes_context=True)
def media_preview(context, campaign, payload, answer: bool = False):
    """``{% media_preview item.campaign item.payload %}``; ``answer=True`` for an answer's payload."""
    task = campaign.task
    keys = (task.answer_media_keys(payload) if answer else task.preview_media_keys(payload)) if isinstance(
        payload, dict) else {}
    request = context.get("request")
    user_id = getattr(getattr(request, "user", None), "pk", None)
    media = media_urls_for(campaign, keys, user_id=user_id) if keys and user_id else {}
    return {"media": media}
