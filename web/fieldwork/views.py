"""Field work pages: the contributor's offline-first phone page (book nearest first, check in, form,
photos, outbox), its service worker, and the reviewer's visits page (photos, check-in map, answers,
agreement where a place was visited more than once) with the wide export download.

Submissions go through the task API's submit route with an Idempotency-Key (the outbox replays them),
so the queue's rules and idempotency apply unchanged; booking is ``workqueue.booking.book_item``.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from annotations.models import Annotation
from assets.selectors import media_urls_for
from organizations.access import Action, allows
from review.selectors import reviewable_campaigns
from task_types.field_visit.places import nearest_places
from task_types.survey import form as forms
from task_types.survey.export import export_campaign
from task_types.survey.task import question_aggregate
from tasks.models import Campaign
from web.campaigns.api import _assignment_out
from workqueue.booking import book_item
from workqueue.lease import NoWork
from workqueue.selectors import contributor_block_reason

STATIC_DIR = Path(__file__).resolve().parents[2] / "static" / "fieldwork"


def _field_campaign(campaign_id: int) -> Campaign:
    return get_object_or_404(Campaign, pk=campaign_id, status=Campaign.Status.ACTIVE, task_type="field_visit")


def _error(status: int, code: str, message: str, field: str | None = None) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "field": field}}, status=status)


@login_required
def field_page(request, campaign_id: int):
    campaign = _field_campaign(campaign_id)
    block = contributor_block_reason(request.user, campaign)
    config = {
        "campaignId": campaign.pk, "userId": request.user.pk, "config": campaign.config,
        "urls": {"places": reverse("field-places", args=[campaign.pk]), "book": reverse("field-book", args=[campaign.pk]),
                 "submit": reverse("assignment-submit", args=[0]), "sw": reverse("field-sw")},
        "strings": {"offline": _("Offline: your visits wait in the outbox and are sent when the connection returns."),
                    "queued": _("Saved in the outbox."), "synced": _("Sent."), "refused": _("Refused"),
                    "locating": _("Finding your position…"), "noPlaces": _("No place to visit near you right now."),
                    "book": _("Book"), "booked": _("Booked")},
    }
    return render(request, "fieldwork/field.html", {"campaign": campaign, "task": campaign.task,
                                                    "blocked": block[1] if block else "", "field_config": config})


@login_required
@require_GET
def places(request, campaign_id: int):
    campaign = _field_campaign(campaign_id)
    try:
        lat, lon = float(request.GET.get("lat", "")), float(request.GET.get("lon", ""))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError
    except ValueError:
        return _error(400, "invalid", _("Send your position as lat and lon."), "lat")
    return JsonResponse({"places": nearest_places(campaign, request.user, lat=lat, lon=lon)})


@login_required
@require_POST
def book(request, campaign_id: int):
    campaign = _field_campaign(campaign_id)
    try:
        item_id = int(json.loads(request.body or b"{}").get("item_id"))
    except (ValueError, TypeError, AttributeError):
        return _error(400, "invalid", _("Say which place to book (item_id)."), "item_id")
    outcome = book_item(user=request.user, campaign=campaign, item_id=item_id)
    if isinstance(outcome, NoWork):
        return _error(409 if outcome.code in ("full", "booked", "budget") else 404 if outcome.code == "not_found" else 403,
                      outcome.code, str(outcome.reason))
    outcome.campaign = campaign
    return JsonResponse({"assignment": _assignment_out(outcome)})


def service_worker(request):
    """The service worker, served from /field/ so its scope covers the field pages."""
    response = HttpResponse((STATIC_DIR / "sw.js").read_bytes(), content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    return response


def _reviewable(request, campaign_id: int, types=("field_visit",)) -> Campaign:
    campaign = reviewable_campaigns(request.user).filter(pk=campaign_id, task_type__in=types).first()
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def agreement_report(campaign, annotations: list) -> dict:
    """Per question, how often visits of the same place agree (back-checks and overlap alike)."""
    by_item: dict[int, list[dict]] = {}
    for a in annotations:
        by_item.setdefault(a.item_id, []).append(a.payload.get("answers") or {})
    revisited = {k: v for k, v in by_item.items() if len(v) >= 2}
    questions = []
    for q, repeat in forms.value_questions(campaign.config["form"]):
        if repeat is not None or q["type"] in forms.MEDIA or q["type"] in ("calculate", "geopoint", "text"):
            continue
        scores = []
        for answers in revisited.values():
            value, agree = question_aggregate(q, [a.get(q["name"]) for a in answers], [1.0] * len(answers))
            if value is not None:
                scores.append(agree)
        if scores:
            questions.append({"name": q["name"], "agreement": round(sum(scores) / len(scores), 3), "places": len(scores)})
    overall = round(sum(q["agreement"] for q in questions) / len(questions), 3) if questions else None
    return {"places_revisited": len(revisited), "questions": questions, "overall": overall}


@login_required
def review(request, campaign_id: int):
    campaign = _reviewable(request, campaign_id)
    annotations = list(Annotation.objects.filter(campaign=campaign).select_related("item").order_by("-id")[:200])
    task = campaign.task
    visits = []
    for a in annotations:
        urls = media_urls_for(campaign, task.answer_media_keys(a.payload), user_id=request.user.pk)
        visits.append({"id": a.pk, "item_id": a.item_id, "place": a.item.payload.get("place") or {},
                       "checkin": a.payload.get("checkin") or {}, "flags": a.payload.get("flags") or [],
                       "answers": a.payload.get("answers") or {}, "photos": [u["url"] for u in urls.values()],
                       "contributor": a.contributor_id, "created_at": a.created_at.isoformat(),
                       "score": task.rubric_score(campaign.config, a.payload.get("answers") or {})
                       if hasattr(task, "rubric_score") else None})
    data = {"visits": visits, "tileUrl": getattr(settings, "FIELD_MAP_TILE_URL", ""),
            "geofence": campaign.config.get("geofence_m", 150)}
    scores = [v["score"] for v in visits if v["score"] is not None]
    return render(request, "fieldwork/review.html", {
        "campaign": campaign, "visits": visits, "review_data": data,
        "rubric": {"max": campaign.config.get("score_max"), "n": len(scores),
                   "mean": round(sum(scores) / len(scores), 2) if scores else None},
        "agreement": agreement_report(campaign, annotations),
        "export_url": reverse("field-export", args=[campaign.pk]),
        "can_export": allows(request.user, Action.EXPORT, campaign.organization_id),
    })


@login_required
@require_GET
def export(request, campaign_id: int):
    campaign = _reviewable(request, campaign_id, types=("field_visit", "survey"))
    if not allows(request.user, Action.EXPORT, campaign.organization_id):
        raise PermissionDenied
    fmt = "parquet" if request.GET.get("format") == "parquet" else "csv"
    with tempfile.NamedTemporaryFile(suffix=".zip", delete=False) as tmp:
        path = Path(tmp.name)
    try:
        export_campaign(campaign, path, fmt=fmt)
        handle = path.open("rb")
    finally:
        path.unlink(missing_ok=True)  # the open handle keeps the data until the response is sent
    return FileResponse(handle, as_attachment=True, filename=f"{campaign.task_type}-{campaign.pk}-{fmt}.zip")
