"""The dataset view (/review/campaigns/<id>/dataset/) and its API twin: browse a campaign's items with filters,
search and sort, tick items (or "all matching") and send them to review, to re-labelling or to an export.

Thin: filters and reads from review.dataset, writes from review.services; who may do what from
organizations.access. Contributors appear by pseudonym only, for every role.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.models import Consensus
from authenticity.reasons import REASONS
from contributors.models import Region
from core.schema import SchemaError
from core.vietnamese import json_strings
from exports.layouts import supported_layouts
from exports.models import Export
from organizations.access import Action, allows
from organizations.permissions import HasOrganization
from review import services
from review.dataset import (
    NO_CONSENSUS,
    SORTS,
    dataset_campaigns,
    dataset_items,
    page_details,
    parse_filters,
    selected_item_ids,
)
from tasks.models import Campaign
from web.console import EstimatedCountPaginator
from web.scoping import CampaignScopedMixin

PAGE_SIZE = 50
SORT_LABELS = {
    "-id": gettext_lazy("Newest first"), "id": gettext_lazy("Oldest first"), "agreement": gettext_lazy("Agreement, lowest first"),
    "-agreement": gettext_lazy("Agreement, highest first"), "confidence": gettext_lazy("Confidence, lowest first"),
    "-confidence": gettext_lazy("Confidence, highest first"), "answers": gettext_lazy("Fewest answers first"),
    "-answers": gettext_lazy("Most answers first"),
}


def _campaign(user, campaign_id: int):
    """The campaign if this principal may view its dataset; another organisation's is a 404 (not revealed)."""
    campaign = dataset_campaigns(user).filter(pk=campaign_id).select_related("organization").first()
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def _excerpt(item) -> str:
    """A line of the item's own text for the table (its search form is lower case without diacritics)."""
    texts = []
    for text in json_strings(item.payload):
        if text.strip() and not text.startswith(("http://", "https://")):
            texts.append(text.strip())
            if sum(map(len, texts)) >= 200:
                break
    text = " · ".join(texts)
    return text[:200] + ("…" if len(text) > 200 else "")


def _rows(items) -> list[dict]:
    details = page_details(items)
    reason_labels = {k: str(v) for k, v in REASONS.items()}
    region_labels = dict(Region.choices)
    rows = []
    for item in items:
        consensus = getattr(item, "consensus", None)
        extra = details[item.pk]
        rows.append({
            "id": item.pk, "external_id": item.external_id, "text": _excerpt(item), "is_gold": item.is_gold,
            "answers": item.done_count,
            "state": consensus.state if consensus else None,
            "state_label": str(consensus.get_state_display()) if consensus else _("No consensus yet"),
            "agreement": round(consensus.agreement, 3) if consensus else None,
            "confidence": round(consensus.confidence, 3) if consensus else None,
            "contributors": extra["contributors"],
            "regions": extra["regions"], "region_labels": [str(region_labels.get(r, r)) for r in extra["regions"]],
            "reasons": extra["reasons"], "reason_labels": [reason_labels.get(r, r) for r in extra["reasons"]],
            "reviewed": extra["reviewed"], "review_requested": extra["review_requested"],
        })
    return rows


@login_required
def dataset(request, campaign_id: int):
    campaign = _campaign(request.user, campaign_id)
    if request.method == "POST":
        return _act(request, campaign)
    try:
        filters = parse_filters(request.GET)
        error = None
    except SchemaError as exc:
        filters, error = parse_filters({}), exc
    items = dataset_items(campaign, filters)
    page = EstimatedCountPaginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _rows(list(page.object_list))
    org = campaign.organization_id
    can = {"manage": allows(request.user, Action.MANAGE_CAMPAIGNS, org),
           "export": allows(request.user, Action.EXPORT, org)}
    query = urlencode(filters.as_params())
    return render(request, "review/dataset.html", {
        **admin.site.each_context(request), "title": _("Dataset: %(name)s") % {"name": campaign.name},
        "campaign": campaign, "filters": filters, "error": error, "page": page, "rows": rows, "query": query,
        "can": can, "can_act": can["manage"] or can["export"],
        "states": [(NO_CONSENSUS, _("No consensus yet")), *Consensus.State.choices],
        "reasons": [(k, str(v)) for k, v in REASONS.items()], "regions": Region.choices,
        "sorts": [(k, SORT_LABELS[k]) for k in SORTS],
        "formats": Export.Format.choices, "layouts": sorted(supported_layouts(campaign.task)),
        "api_url": reverse("campaign-dataset", args=[campaign.pk]) + (f"?{query}" if query else ""),
    })


def _act(request, campaign):
    """A selection action; the filters travel in the form so "all matching" is the page's own selection."""
    back = reverse("review:dataset", args=[campaign.pk])
    try:
        filters = parse_filters(request.POST)
        back += f"?{urlencode(filters.as_params())}" if filters.as_params() else ""
        ids = selected_item_ids(campaign, filters=filters, all_matching=request.POST.get("all") == "1",
                                ids=request.POST.getlist("items"))
        action = request.POST.get("action", "")
        if action == "review":
            n = services.request_review(campaign=campaign, item_ids=ids, by=request.user)
            messages.success(request, _("%(n)d items sent to review.") % {"n": n})
        elif action == "relabel":
            n = services.request_relabel(campaign=campaign, item_ids=ids, by=request.user)
            messages.success(request, _("%(n)d items will get one more answer.") % {"n": n})
            if campaign.status != Campaign.Status.ACTIVE:
                messages.warning(request, _("The campaign is not active: the queue serves these items once it is."))
        elif action == "export":
            export = services.export_selection(
                campaign=campaign, item_ids=ids, fmt=request.POST.get("format", ""),
                layout=request.POST.get("layout", ""), by=request.user, ip=request.META.get("REMOTE_ADDR"))
            messages.success(request, _("Export %(id)d of %(n)d items started; it appears in the exports list.")
                             % {"id": export.pk, "n": len(ids)})
        else:
            raise SchemaError("action", _("Choose review, re-labelling or export."))
    except SchemaError as exc:
        messages.error(request, f"{exc.field}: {exc.message}" if exc.field else exc.message)
    except PermissionDenied:
        messages.error(request, _("Your role may not do this."))
    return redirect(back)


# --- REST API: GET /api/v1/campaigns/<id>/dataset/?state=...&q=... ------------------------------------------


class DatasetItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    text = serializers.CharField()
    is_gold = serializers.BooleanField()
    answers = serializers.IntegerField()
    state = serializers.CharField(allow_null=True)
    agreement = serializers.FloatField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    contributors = serializers.ListField(child=serializers.CharField(), help_text="Pseudonyms, never account ids.")
    regions = serializers.ListField(child=serializers.CharField())
    reasons = serializers.ListField(child=serializers.CharField())
    reviewed = serializers.BooleanField()
    review_requested = serializers.BooleanField()


class DatasetPageSerializer(serializers.Serializer):
    """One page of the filtered items, numbered like the page's own pagination."""
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = DatasetItemSerializer(many=True)


@extend_schema(tags=["campaigns"], responses=DatasetPageSerializer)
class DatasetView(CampaignScopedMixin, APIView):
    """The dataset view's filters as query parameters: state, min_agreement, max_agreement, min_confidence,
    max_confidence, reason, region, gold (1/0), q (with or without diacritics), sort, page."""

    permission_classes = [HasOrganization]
    required_action = {"read": Action.VIEW}

    def get(self, request, campaign_id: int):
        campaign = self.campaign()
        filters = parse_filters(request.query_params)  # SchemaError → the API's field-named 400
        paginator = Paginator(dataset_items(campaign, filters), PAGE_SIZE)
        page = paginator.get_page(request.query_params.get("page"))
        return Response({"count": paginator.count, "page": page.number, "pages": paginator.num_pages,
                         "results": DatasetItemSerializer(_rows(list(page.object_list)), many=True).data})

