"""Console pages outside the model admins: the review queue, one item's review, the campaign dashboard.

Thin views: access and data come from review.selectors, writes from review.services.
"""
from __future__ import annotations

from decimal import Decimal

from csp.decorators import csp_replace
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from annotations.models import Annotation, Consensus
from assets.selectors import media_url_ttl, media_urls_for
from assist.selectors import suggestion_report
from consensus.engine import start_campaign_rescore
from contributors.models import Region
from core.schema import SchemaError
from organizations.access import Action, allows
from review import selectors, services
from review.dashboard import campaign_dashboard
from review.disputes import open_contests_count
from tasks.models import Item
from tasks.types.choices import choice_labels
from web.console import EstimatedCountPaginator
from web.review.forms import ReviewDecisionForm

QUEUE_LABELS = {
    "disputed": gettext_lazy("Disputed"),
    "low_confidence": gettext_lazy("Low confidence"),
    "flagged": gettext_lazy("Flagged by authenticity checks"),
    "requested": gettext_lazy("Sent to review from the dataset view"),
    "all": gettext_lazy("All answered items"),
}


def _context(request, title: str, **extra) -> dict:
    return {**admin.site.each_context(request), "title": title, **extra}


def _campaign_or_404(request, campaign_id: int):
    campaign = selectors.reviewable_campaigns(request.user).filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


@login_required
def queue(request):
    kind = request.GET.get("kind", "disputed")
    if kind not in selectors.QUEUE_FILTERS:
        kind = "disputed"
    campaign_id = request.GET.get("campaign", "")
    campaign_id = int(campaign_id) if campaign_id.isdigit() else None
    contributor = request.GET.get("contributor", "").strip()[:200]
    unreviewed = (request.GET.getlist("unreviewed") or ["1"])[-1] == "1"
    items = selectors.review_queue(request.user, campaign_id=campaign_id, kind=kind, contributor=contributor,
                                   unreviewed_only=unreviewed)
    page = EstimatedCountPaginator(items, 50).get_page(request.GET.get("page"))
    return render(request, "review/queue.html", _context(
        request, _("Review queue"), page=page, kind=kind, kinds=QUEUE_LABELS.items(), contributor=contributor,
        unreviewed=unreviewed, campaign_id=campaign_id,
        campaigns=selectors.reviewable_campaigns(request.user).order_by("-id").only("id", "name")[:200],
        query=request.GET.urlencode(), open_contests=open_contests_count(request.user),
    ))


@login_required
def item_review(request, item_id: int):
    item = get_object_or_404(Item.objects.select_related("campaign"), pk=item_id,
                             campaign__in=selectors.reviewable_campaigns(request.user))
    back = request.GET.get("next") or request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    errors = {}
    if request.method == "POST":
        if not allows(request.user, Action.REVIEW, item.campaign.organization_id):
            raise PermissionDenied("Your role may not review answers.")
        form = ReviewDecisionForm(request.POST)
        if form.is_valid():
            annotation = Annotation.objects.filter(pk=form.cleaned_data["annotation"], item=item).first()
            if annotation is None:
                raise Http404("No such answer.")
            try:
                services.decide_review(annotation=annotation, reviewer=request.user,
                                       decision=form.cleaned_data["decision"], reason=form.cleaned_data["reason"],
                                       corrected_payload=form.cleaned_data["corrected_payload"])
            except SchemaError as exc:
                errors[annotation.pk] = f"{exc.field}: {exc.message}" if exc.field else exc.message
            except PermissionDenied as exc:
                raise Http404("No such item.") from exc
            else:
                messages.success(request, _("Decision saved."))
                return redirect(f"{reverse('review:item', args=[item.pk])}?next={back}" if back else
                                reverse("review:item", args=[item.pk]))
        else:
            annotation_id = request.POST.get("annotation", "")
            errors[int(annotation_id) if annotation_id.isdigit() else 0] = " ".join(
                f"{field}: {' '.join(errs)}" if field != "__all__" else " ".join(errs)
                for field, errs in form.errors.items())
    data = selectors.item_review(item)
    data["consensus_drawn"] = bool(data["consensus"] and _consensus_answer(item.campaign.task, data["consensus"].result,
                                                                           item) is not None)
    for row in data["rows"]:
        row["error"] = errors.get(row["annotation"].pk, "")
    return render(request, "review/item.html", _context(
        request, _("Review item %(id)s") % {"id": item.pk}, back=back, **data))


@login_required
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": ["'self'"]})
def item_panel(request, item_id: int, annotation_id: int):
    """One read-only view on the review item page (an iframe, so each is the type's labelling module
    alone on its page, as when labelling): the item with its gold answer (``annotation_id`` 0) or one
    answer, drawn by the type's own template and script (static/console/review_view.js)."""
    item = get_object_or_404(Item.objects.select_related("campaign"), pk=item_id,
                             campaign__in=selectors.reviewable_campaigns(request.user))
    campaign = item.campaign
    task = campaign.task
    extra, frame = {}, f"{item.pk}-{annotation_id}"
    if not annotation_id and request.GET.get("of") == "consensus":
        answer, frame = _consensus_answer(task, get_object_or_404(Consensus, item=item).result, item), f"{item.pk}-consensus"
    else:
        if annotation_id:
            annotation = get_object_or_404(Annotation.objects.select_related("campaign"), pk=annotation_id, item=item)
            stored, extra = annotation.payload, task.review_extra(annotation)
        else:
            stored = item.gold_answer
        answer = None
        if stored is not None:
            try:
                answer = task.review_answer(stored, item_payload=item.payload, config=campaign.config)
            except Exception:  # noqa: BLE001 - a legacy answer is drawn as stored rather than breaking the page
                answer = stored
    return render(request, "review/panel.html", {
        "campaign": campaign, "task": task, "item": item, "answer": answer,
        "readonly_config": {
            "taskType": campaign.task_type, "itemId": item.pk, "item": item.payload, "config": campaign.config,
            "answer": answer, "annotation": annotation_id, "extra": extra, "choiceLabels": choice_labels(),
            "mediaUrl": reverse("review:media", args=[item.pk, 0]), "frame": frame,
        },
    })


def _consensus_answer(task, result, item: Item) -> dict | None:
    """The consensus as an answer the type's page can draw (TaskType.review_consensus), or None."""
    try:
        return task.review_consensus(result, item_payload=item.payload, config=item.campaign.config)
    except Exception:  # noqa: BLE001 - an unexpected result shape: the page lists the figures instead
        return None


@login_required
def item_media(request, item_id: int, annotation_id: int):
    """Signed URLs for a reviewed item's media and, for an answer, the media it carries (a recording), in the
    shape the task types' page scripts read from the assignment media endpoint."""
    item = get_object_or_404(Item.objects.select_related("campaign"), pk=item_id,
                             campaign__in=selectors.reviewable_campaigns(request.user))
    task = item.campaign.task
    keys = dict(task.media_keys(item.payload))
    if annotation_id:
        annotation = get_object_or_404(Annotation, pk=annotation_id, item=item)
        if isinstance(annotation.payload, dict):
            keys.update(task.answer_media_keys(annotation.payload))
    media = media_urls_for(item.campaign, keys, user_id=request.user.pk)
    return JsonResponse({"media": {name: m["url"] for name, m in media.items()},
                         "durations": {name: m["duration_s"] for name, m in media.items() if m.get("duration_s")},
                         "expires_in": media_url_ttl()})


@login_required
@require_POST
def authenticity_review(request, item_id: int):
    item = get_object_or_404(Item.objects.select_related("campaign"), pk=item_id,
                             campaign__in=selectors.reviewable_campaigns(request.user))
    if not allows(request.user, Action.REVIEW, item.campaign.organization_id):
        raise PermissionDenied("Your role may not review answers.")
    annotation = get_object_or_404(Annotation, pk=request.POST.get("annotation") or 0, item=item)
    try:
        services.review_authenticity(annotation=annotation, reviewer=request.user,
                                     human=request.POST.get("human") == "1")
    except SchemaError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Authenticity verdict saved."))
    return redirect("review:item", item.pk)


@login_required
def dashboard(request, campaign_id: int):
    campaign = _campaign_or_404(request, campaign_id)
    data = campaign_dashboard(campaign)
    return render(request, "review/dashboard.html", _context(
        request, _("Dashboard: %(name)s") % {"name": campaign.name}, campaign=campaign, data=data,
        json_url=reverse("review:dashboard-json", args=[campaign.pk]), display=_dashboard_display(data),
        assist=suggestion_report(campaign),
    ))


def _dashboard_display(data: dict) -> dict:
    """The cached figures (JSON: ISO times, decimal strings, keys) as a manager reads them on the first
    paint: local times, whole đồng grouped by the language's separator, region names. The page script
    formats its 10-second refreshes the same way (static/console/dashboard.js)."""
    regions = {"unknown": _("unknown"), **{key: str(label) for key, label in Region.choices}}
    cost = data["cost"]
    return {
        "generated_at": parse_datetime(data["generated_at"]),
        "fitted_at": parse_datetime(str(data["agreement"]["fitted_at"])) if data["agreement"]["fitted_at"] else None,
        "money": {key: int(Decimal(cost[key])) if cost.get(key) is not None else None
                  for key in ("pay_per_task", "spent", "projected", "budget")},
        "regions": [{**row, "label": regions.get(row["region"], row["region"])} for row in data["regions"]],
        "region_labels": regions,
    }


@login_required
def dashboard_json(request, campaign_id: int):
    campaign = _campaign_or_404(request, campaign_id)
    # The page polls this every 10 s: the authenticity report (rendered once with the page) is left out.
    return JsonResponse(campaign_dashboard(campaign, include_authenticity=request.GET.get("full") == "1"))


@login_required
@require_POST
def rescore(request, campaign_id: int):
    """Re-fit the campaign's consensus now (the consensus engineer's job), e.g. to refresh alpha."""
    campaign = _campaign_or_404(request, campaign_id)
    if not allows(request.user, Action.RESCORE, campaign.organization_id):
        raise PermissionDenied("Your role may not start a re-score.")
    start_campaign_rescore(campaign=campaign, trigger="manual", user=request.user)
    messages.success(request, _("Re-scoring started; the figures update when it finishes."))
    return redirect("review:dashboard", campaign.pk)
