"""Reads for the console: who may review what, the review queue, one item's answers, the dashboard."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

from django.db.models import Avg, Count, Exists, F, Max, OuterRef, Q
from django.db.models.functions import TruncDate, TruncHour
from django.utils.translation import gettext as _

from annotations.models import Annotation, CampaignScoring, Consensus
from annotations.selectors import campaign_quality_report
from authenticity.models import AuthenticityScore
from contributors.models import ContributorProfile, Region
from organizations.models import Membership
from tasks.models import Campaign, Item
from tasks.selectors import campaign_progress

from .models import QualitySnapshot, ReviewDecision, ReviewerAppointment, ReviewRequest

MANAGING_ROLES = (Membership.Role.ADMIN, Membership.Role.MANAGER)
QUEUE_FILTERS = ("disputed", "low_confidence", "flagged", "requested", "all")


def reviewable_campaigns(user):
    """Campaigns this user may review: superuser all; an organisation's admins and managers all of its
    campaigns; anyone else only the campaigns they are appointed to."""
    if not user.is_authenticated:
        return Campaign.objects.none()
    if user.is_superuser:
        return Campaign.objects.all()
    managed = Membership.objects.filter(user=user, role__in=MANAGING_ROLES).values("organization_id")
    appointed = ReviewerAppointment.objects.filter(reviewer=user).values("campaign_id")
    return Campaign.objects.filter(Q(organization_id__in=managed) | Q(pk__in=appointed))


def can_review_campaign(user, campaign: Campaign) -> bool:
    return reviewable_campaigns(user).filter(pk=campaign.pk).exists()


def review_queue(user, *, campaign_id: int | None = None, kind: str = "disputed", contributor: str = "",
                 unreviewed_only: bool = True):
    """Items waiting for a reviewer, newest problems first, with their consensus (one query per page)."""
    items = Item.objects.filter(campaign__in=reviewable_campaigns(user)).select_related("campaign", "consensus")
    if campaign_id:
        items = items.filter(campaign_id=campaign_id)
    if kind == "disputed":
        items = items.filter(consensus__state=Consensus.State.DISPUTED)
    elif kind == "low_confidence":
        items = items.filter(consensus__n_answers__gt=0, consensus__confidence__lt=F("campaign__confidence_threshold"))
    elif kind == "flagged":
        items = items.filter(Exists(Annotation.objects.filter(item=OuterRef("pk"), authenticity__flagged=True)))
    elif kind == "requested":
        # Sent from the dataset view; a reviewer's decision closes the request, so "unreviewed" is implied.
        items = items.filter(Exists(ReviewRequest.objects.filter(item=OuterRef("pk"), closed_at__isnull=True)))
        unreviewed_only = False
    else:
        items = items.filter(done_count__gt=0)
    if contributor:
        # Pseudonym or id only: customers never look contributors up by e-mail (that would reveal who works here).
        who = Q(contributor__contributor__pseudonym=contributor)
        if contributor.isdigit():
            who |= Q(contributor_id=int(contributor))
        items = items.filter(Exists(Annotation.objects.filter(who, item=OuterRef("pk"))))
    if unreviewed_only:
        items = items.exclude(Exists(ReviewDecision.objects.filter(item=OuterRef("pk"), is_current=True)))
    return items.order_by("-consensus__updated_at", "-id")


def item_review(item: Item) -> dict:
    """One item's answers side by side with its consensus, with each answer's latest decision."""
    annotations = list(
        Annotation.objects.filter(item=item)
        .select_related("contributor", "contributor__contributor")
        .order_by("id")
    )
    decisions = {
        d.annotation_id: d
        for d in ReviewDecision.objects.filter(item=item, is_current=True).select_related("reviewer")
    }
    scores = {s.annotation_id: s for s in AuthenticityScore.objects.filter(annotation__item=item)}
    consensus = Consensus.objects.filter(item=item).first()
    rows = []
    for annotation in annotations:
        profile = getattr(annotation.contributor, "contributor", None)
        rows.append({
            "annotation": annotation,
            "pseudonym": profile.pseudonym if profile else f"user {annotation.contributor_id}",
            "region": profile.get_region_display() if profile and profile.region else "",
            "decision": decisions.get(annotation.pk),
            "authenticity": scores.get(annotation.pk),
            "matches_consensus": _matches(item.campaign, annotation.payload, consensus.result if consensus else None),
        })
    return {"item": item, "consensus": consensus, "rows": rows}


def _matches(campaign, payload: dict, result: dict | None) -> bool | None:
    """Whether an answer agrees with its item's consensus, by the task type's own rule (the one that feeds
    trust: e.g. RLHF answers are compared in the responses' original order, claims verdict by verdict)."""
    if not result or not isinstance(payload, dict):
        return None
    try:
        return campaign.task.agrees_with_consensus(payload, result, config=campaign.config)
    except Exception:  # noqa: BLE001 - legacy or malformed data: no highlight rather than a broken page
        return None


# --- dashboard -----------------------------------------------------------------------------------------


def _quality_report(campaign) -> dict | None:
    """The consensus engine's campaign quality report (None if it cannot be read: the dashboard still renders)."""
    try:
        return campaign_quality_report(campaign)
    except Exception:  # noqa: BLE001 - the dashboard must render even if the quality report fails
        return None


def alpha_of_report(report: dict) -> tuple[float | None, dict]:
    """(mean alpha over the questions that have one, alpha per question) from a consensus quality report."""
    per_question = {q: e.get("alpha") for q, e in (report.get("questions") or {}).items() if isinstance(e, dict)}
    defined = [a for a in per_question.values() if isinstance(a, int | float)]
    overall = report.get("krippendorff_alpha", report.get("alpha"))
    if not isinstance(overall, int | float):
        overall = round(sum(defined) / len(defined), 4) if defined else None
    return overall, per_question


def _scoring_marker(campaign) -> str:
    return str(CampaignScoring.objects.filter(campaign=campaign).values_list("fitted_at", flat=True).first())


def _per_contributor(campaign) -> dict[int, dict]:
    """Answers, gold answers and correct gold answers per contributor: one GROUP BY on the answers table
    (no join), shared by the region coverage and the contributor ranking."""
    rows = (
        Annotation.objects.filter(campaign=campaign)
        .values("contributor_id")
        .annotate(answers=Count("id"), gold=Count("id", filter=Q(gold_correct__isnull=False)),
                  gold_correct=Count("id", filter=Q(gold_correct=True)),
                  consensus_seen=Count("id", filter=Q(agrees_with_consensus__isnull=False, is_gold=False)),
                  consensus_agreed=Count("id", filter=Q(agrees_with_consensus=True, is_gold=False)))
        .order_by()
    )
    return {row["contributor_id"]: row for row in rows}


def _profiles(user_ids) -> dict[int, tuple[str, str]]:

    out = {}
    ids = list(user_ids)
    for start in range(0, len(ids), 5000):
        out.update({
            uid: (pseudonym, region) for uid, pseudonym, region in ContributorProfile.objects.filter(
                user_id__in=ids[start:start + 5000]).values_list("user_id", "pseudonym", "region")
        })
    return out


def _region_coverage(campaign, per_contributor: dict[int, dict], profiles: dict) -> list[dict]:
    """Answers per contributor home region against the campaign's quotas (speech: speaker region)."""
    if campaign.task_type.startswith("speech"):
        coverage = recording_coverage(campaign)
        if coverage["total"]:
            return [{"region": r["region"], "count": r["count"], "share": r["share"], "quota": r["quota"]}
                    for r in coverage["regions"]]
    rows: dict[str, int] = {}
    for uid, row in per_contributor.items():
        region = (profiles.get(uid) or ("", ""))[1] or "unknown"
        rows[region] = rows.get(region, 0) + row["answers"]
    total = sum(rows.values())
    quotas = campaign.region_quotas or {}
    return [
        {"region": region, "count": rows.get(region, 0),
         "share": round(100.0 * rows.get(region, 0) / total, 1) if total else 0.0, "quota": quotas.get(region)}
        for region in sorted(set(rows) | set(quotas))
    ]


def _contributors(campaign, per_contributor: dict[int, dict], profiles: dict, quality: dict | None,
                  limit: int = 5) -> dict:
    """Top and bottom contributors by accuracy: correct gold answers plus answers matching the final
    consensus, over both. Agreement comes from the consensus re-fit's report when there is one (it covers
    the whole campaign), else from each answer's stored verdict, written as its item finalised (one
    GROUP BY, instead of re-judging a sample of answers in Python on every uncached request)."""
    by_pseudonym = {pseudonym: uid for uid, (pseudonym, _region) in profiles.items()}
    from_report = {}
    for c in (quality or {}).get("contributors", []):
        if not isinstance(c, dict):
            continue
        uid = c.get("user_id") or by_pseudonym.get(c.get("contributor"))
        if uid is not None:
            from_report[uid] = (c.get("agreement_with_consensus"), c.get("answers", 0))
    out = []
    for uid, row in per_contributor.items():
        if from_report:
            rate, answered = from_report.get(uid, (None, 0))
            seen = answered - row["gold"] if rate is not None else 0
            ok = round(rate * seen) if rate is not None else 0
        else:
            seen, ok = row["consensus_seen"], row["consensus_agreed"]
        judged = row["gold"] + seen
        accuracy = (row["gold_correct"] + ok) / judged if judged else None
        out.append({
            "pseudonym": (profiles.get(uid) or (f"user {uid}", ""))[0] or f"user {uid}",
            "answers": row["answers"], "gold": row["gold"], "gold_correct": row["gold_correct"],
            "consensus_seen": max(seen, 0), "consensus_agreed": ok,
            "accuracy": round(accuracy, 3) if accuracy is not None else None,
        })
    ranked = sorted((r for r in out if r["accuracy"] is not None), key=lambda r: (-r["accuracy"], -r["answers"]))
    return {"top": ranked[:limit], "bottom": list(reversed(ranked[-limit:])) if len(ranked) > limit else [],
            "count": len(out), "source": "consensus re-fit" if from_report else "answers of finalised items"}


def _series(queryset, trunc, since) -> list[dict]:
    rows = (
        queryset.filter(created_at__gte=since)
        .annotate(bucket=trunc("created_at"))
        .values("bucket")
        .annotate(n=Count("id"))
        .order_by("bucket")
    )
    return [{"t": row["bucket"].isoformat(), "n": row["n"]} for row in rows]


def dashboard_stamp(campaign: Campaign) -> str:
    """What the dashboard's figures were computed from: the campaign row, its last answer, its last consensus
    change and its last re-fit (index reads). Unchanged stamp, unchanged figures (review.dashboard)."""
    marker = Annotation.objects.filter(campaign=campaign).aggregate(last=Max("id"))["last"]
    consensus_marker = Consensus.objects.filter(campaign=campaign).aggregate(last=Max("updated_at"))["last"]
    stamp = f"{campaign.updated_at.timestamp()}:{marker}:{consensus_marker}:{_scoring_marker(campaign)}"
    return hashlib.sha1(stamp.encode()).hexdigest()


def compute_dashboard_figures(campaign: Campaign, now) -> dict:
    """Every number of the campaign dashboard but the authenticity panel; charts and tables both render from
    this dict. Reads the whole answers table: review.dashboard stores the result and serves it while the data
    is unchanged."""
    annotations = Annotation.objects.filter(campaign=campaign)
    progress = campaign_progress(campaign)
    states = dict(
        Consensus.objects.filter(campaign=campaign).values_list("state").annotate(n=Count("id")).order_by()
    )
    with_consensus = sum(states.values())
    started = Item.objects.filter(campaign=campaign, done_count__gt=0, consensus__isnull=True).count()
    by_state = [
        {"state": "not_started", "label": str(_("Not started")), "n": max(progress["items"] - with_consensus - started, 0)},
        {"state": "in_progress", "label": str(_("In progress")), "n": started},
    ] + [{"state": s.value, "label": str(s.label), "n": states.get(s.value, 0)} for s in Consensus.State]

    # Completion over time: cumulative answers per day against the target.
    first = annotations.order_by("id").values_list("created_at", flat=True).first()
    since_days = max((now - first).days + 1, 1) if first else 1
    per_day = _series(annotations, TruncDate, now - timedelta(days=min(since_days, 90)))
    before = annotations.filter(created_at__lt=now - timedelta(days=min(since_days, 90))).count() if \
        since_days > 90 else 0
    total, completion = before, []
    for row in per_day:
        total += row["n"]
        completion.append({"t": row["t"], "answers": total,
                           "percent": round(100.0 * total / progress["target_annotations"], 1)
                           if progress["target_annotations"] else 0.0})
    per_hour = _series(annotations, TruncHour, now - timedelta(hours=48))

    agreement_trend = [
        {"t": row["day"].isoformat(), "agreement": round(row["mean"], 3) if row["mean"] is not None else None,
         "n": row["n"]}
        for row in Consensus.objects.filter(campaign=campaign, n_answers__gt=0)
        .annotate(day=TruncDate("updated_at")).values("day")
        .annotate(mean=_avg("agreement"), n=Count("id")).order_by("day")
    ]
    quality = _quality_report(campaign)
    per_contributor = _per_contributor(campaign)
    profiles = _profiles(per_contributor)
    alpha, per_question = alpha_of_report(quality) if quality else (None, {})
    alpha_trend = [
        {"t": snap.taken_at.isoformat(), "alpha": round(snap.alpha, 4) if snap.alpha is not None else None,
         "n_answers": snap.n_answers}
        for snap in reversed(QualitySnapshot.objects.filter(campaign=campaign).order_by("-taken_at")[:60])
    ]
    mean_agreement = Consensus.objects.filter(campaign=campaign, n_answers__gt=0).aggregate(m=_avg("agreement"))["m"]

    paid_answers = progress["annotations"]
    pay = campaign.pay_per_task or Decimal("0")
    cost = pay * paid_answers
    projected = pay * progress["target_annotations"]
    data = {
        "campaign": {"id": campaign.pk, "name": campaign.name, "status": campaign.status,
                     "task_type": campaign.task_type},
        "progress": {**progress, "percent": round(100.0 * progress["annotations"] / progress["target_annotations"], 1)
                     if progress["target_annotations"] else 0.0},
        "items_by_state": by_state,
        "completion": completion,
        "throughput_per_hour": per_hour,
        "agreement": {
            "alpha": round(alpha, 3) if isinstance(alpha, int | float) else None,
            "alpha_per_question": per_question,
            "alpha_trend": alpha_trend,
            "fitted_at": (quality or {}).get("fitted_at"),
            "method": (quality or {}).get("method", ""),
            "mean_pairwise": round(mean_agreement, 3) if mean_agreement is not None else None,
            "trend": agreement_trend,
        },
        "regions": _region_coverage(campaign, per_contributor, profiles),
        "contributors": _contributors(campaign, per_contributor, profiles, quality),
        "cost": {
            "pay_per_task": str(pay), "answers_paid": paid_answers, "spent": str(cost),
            "budget": str(campaign.budget) if campaign.budget is not None else None,
            "projected": str(projected),
            "budget_used_percent": round(float(100 * cost / campaign.budget), 1) if campaign.budget else None,
            "over_budget_projected": bool(campaign.budget is not None and projected > campaign.budget),
        },
        "reviews": dict(ReviewDecision.objects.filter(campaign=campaign, is_current=True)
                        .values_list("decision").annotate(n=Count("id")).order_by()),
        "generated_at": now.isoformat(),
    }
    return data


def _avg(field: str):
    return Avg(field)


def recording_coverage(campaign) -> dict:
    """Submitted recordings of a campaign per speaker region and province, against its region quotas."""
    rows = (
        Annotation.objects.filter(campaign=campaign)
        .values("payload__speaker__region", "payload__speaker__province")
        .annotate(n=Count("id"))
        .order_by("payload__speaker__region", "payload__speaker__province")
    )
    accepted = _accepted_by_place(campaign)
    regions: dict[str, dict] = {}
    total = 0
    for row in rows:
        region = row["payload__speaker__region"] or ""
        province = row["payload__speaker__province"] or ""
        entry = regions.setdefault(region, {"region": region, "count": 0, "accepted": 0, "provinces": []})
        entry["count"] += row["n"]
        entry["accepted"] += accepted.get((region, province), 0)
        entry["provinces"].append({"province": province, "count": row["n"],
                                   "accepted": accepted.get((region, province), 0)})
        total += row["n"]
    quotas = campaign.region_quotas or {}
    for region in quotas:
        regions.setdefault(region, {"region": region, "count": 0, "accepted": 0, "provinces": []})
    out = []
    for region, entry in sorted(regions.items()):
        share = 100.0 * entry["count"] / total if total else 0.0
        entry["share"] = round(share, 1)
        entry["quota"] = quotas.get(region)
        entry["label"] = str(Region(region).label) if region in Region.values else region
        entry["below_quota"] = entry["quota"] is not None and share + 1e-9 < entry["quota"]
        out.append(entry)
    return {"total": total, "accepted": sum(accepted.values()), "regions": out}


def _accepted_by_place(campaign) -> dict[tuple[str, str], int]:
    """Recordings of the campaign accepted by its validation campaigns, per (region, province)."""
    validations = Campaign.objects.filter(organization_id=campaign.organization_id, task_type="speech_validation",
                                          config__source_campaign=campaign.pk)
    rows = (
        Consensus.objects.filter(campaign__in=validations, state=Consensus.State.FINALISED,
                                 result__decision="accepted")
        .values("item__payload__speaker__region", "item__payload__speaker__province")
        .annotate(n=Count("id"))
    )
    return {(r["item__payload__speaker__region"] or "", r["item__payload__speaker__province"] or ""): r["n"]
            for r in rows}


def rejected_answers(*, item_id: int | None = None, campaign_id: int | None = None) -> set[int]:
    """Answers whose current review decision is a rejection (consensus leaves them out)."""
    qs = ReviewDecision.objects.filter(is_current=True, decision=ReviewDecision.Decision.REJECT)
    qs = qs.filter(item_id=item_id) if item_id is not None else qs.filter(campaign_id=campaign_id)
    return set(qs.values_list("annotation_id", flat=True))
