"""Contributor pages: the campaign list and the labelling page (thin: the page talks to the task API)."""
import markdown
import nh3
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from assist.services import primary_backend
from payments.selectors import campaign_card_stats
from tasks.models import Campaign
from tasks.types.choices import choice_labels
from workqueue.selectors import active_campaigns_for, contributor_block_reason, remaining_for


def render_instructions(text: str) -> str:
    """Markdown rendered, then sanitised: managers' instructions never carry script."""
    html = markdown.markdown(text or "", extensions=["extra", "sane_lists"])
    return mark_safe(nh3.clean(html))  # noqa: S308 - sanitised by nh3 just above


def labeler_config(request, campaign: Campaign) -> dict:
    """Everything the page script needs, passed as JSON (json_script), never as inline code."""
    config = {
        "campaignId": campaign.pk,
        "taskType": campaign.task_type,
        "config": campaign.config,
        "choiceLabels": choice_labels(),
        "userId": request.user.pk,
        "urls": {
            "next": reverse("task-next", args=[campaign.pk]),
            "submit": reverse("assignment-submit", args=[0]),
            "skip": reverse("assignment-skip", args=[0]),
            "report": reverse("assignment-report", args=[0]),
        },
        "strings": {
            "offline": _("You are offline. Your work is saved on this device."),
            "sending": _("Sending…"),
            "sent": _("Saved. Loading the next task…"),
            "retrying": _("Connection problem, retrying…"),
            "skipReason": _("Why are you skipping this item? (optional)"),
            "reportReason": _("What is wrong with this item?"),
            "draftRestored": _("Your unsent draft was restored."),
            "required": _("Please answer this."),
            "moreProblems": _("%s more problems marked below"),
            "suggestionPrefilled": _("(pre-filled: change anything that is wrong)"),
            "suggestionScore": _("confidence %s"),
        },
    }
    if primary_backend(campaign.pk) is not None:
        # Model assistance (docs/ml-backends.md): the page asks per assignment; the server decides and records.
        config["urls"]["suggestion"] = reverse("assignment-suggestion", args=[0])
    return config


def expected_time(median_ms: int | None) -> str:
    """The median time of accepted answers, as a contributor reads it: "45 s", "3 min" (empty: no answers yet)."""
    if median_ms is None:
        return ""
    seconds = max(round(median_ms / 1000), 1)
    if seconds < 90:
        return _("%(n)s s") % {"n": seconds}
    return _("%(n)s min") % {"n": round(seconds / 60)}


@require_GET
@login_required
def label_home(request):
    campaigns = []
    active = list(active_campaigns_for(request.user))
    stats = campaign_card_stats([c.pk for c in active])  # one grouped statement for every card on the page
    for campaign in active:
        block = contributor_block_reason(request.user, campaign)
        row = stats.get(campaign.pk, {})
        campaigns.append({
            "campaign": campaign, "blocked": block[1] if block else "",
            "pay": int(campaign.pay_per_task or 0),
            "expected_time": expected_time(row.get("median_ms")),
            "remaining": remaining_for(request.user, campaign) if not block else 0,
            "acceptance_rate": row.get("acceptance_rate"),
        })
    return render(request, "tasks/label_home.html", {"campaigns": campaigns})


@require_GET
@login_required
def label_campaign(request, campaign_id: int):
    campaign = get_object_or_404(Campaign, pk=campaign_id, status=Campaign.Status.ACTIVE)
    block = contributor_block_reason(request.user, campaign)
    return render(
        request,
        "tasks/label.html",
        {
            "campaign": campaign,
            "task": campaign.task,
            "blocked": block[1] if block else "",
            "instructions_html": render_instructions(campaign.instructions),
            "labeler_config": labeler_config(request, campaign),
            "remaining": remaining_for(request.user, campaign) if not block else 0,
        },
    )
