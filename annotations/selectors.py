"""Reads about answers: the campaign quality report and consensus jobs."""
from __future__ import annotations

from django.db.models import Count, Q

from contributors.models import ContributorProfile

from .models import Annotation, CampaignScoring, Consensus, ConsensusJob


def job_summary(job: ConsensusJob | None) -> dict | None:
    if job is None:
        return None
    return {
        "id": job.pk, "status": job.status, "stage": job.stage, "progress": round(job.progress, 3),
        "trigger": job.trigger, "method": job.method, "algorithm_version": job.algorithm_version,
        "n_answers": job.n_answers, "n_items": job.n_items, "counts": job.counts, "timings": job.timings,
        "error": job.error, "created_at": job.created_at, "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def campaign_quality_report(campaign) -> dict:
    """Krippendorff's alpha per question, confusion matrices, per-contributor accuracy estimates and live
    state counts. Computed by the last campaign re-score; contributors appear by pseudonym only."""
    states = {s: 0 for s in Consensus.State.values}
    states.update(dict(
        Consensus.objects.filter(campaign=campaign).values_list("state").annotate(n=Count("id")).values_list(
            "state", "n")
    ))
    scoring = CampaignScoring.objects.filter(campaign=campaign).defer("parameters").first()
    report = dict(scoring.report) if scoring else {}
    contributors = report.get("contributors") or []
    questions = report.get("questions") or {}
    user_ids = {c["user_id"] for c in contributors}
    for q in questions.values():
        user_ids |= {int(u) for u in (q.get("contributor_confusion") or {})}
    pseudonyms = dict(ContributorProfile.objects.filter(user_id__in=user_ids).values_list("user_id", "pseudonym"))
    for q in questions.values():
        if "contributor_confusion" in q:
            q["contributor_confusion"] = {
                pseudonyms.get(int(u), "?"): m for u, m in q["contributor_confusion"].items()
            }
    contributors = [
        {"contributor": pseudonyms.get(c["user_id"], "?"), **{k: v for k, v in c.items() if k != "user_id"}}
        for c in contributors
    ]
    last_job = ConsensusJob.objects.filter(campaign=campaign).order_by("-id").first()
    return {
        "campaign": campaign.pk,
        "task_type": campaign.task_type,
        "method": scoring.method if scoring else None,
        "algorithm_version": scoring.algorithm_version if scoring else None,
        "fitted_at": scoring.fitted_at if scoring else None,
        "n_answers": scoring.n_answers if scoring else 0,
        "states": states,
        "mean_confidence": report.get("mean_confidence"),
        "mean_agreement": report.get("mean_agreement"),
        "questions": questions,
        "contributors": contributors,
        "position_bias": rlhf_position_bias(campaign),
        "last_job": job_summary(last_job),
    }


def rlhf_position_bias(campaign) -> dict | None:
    """Pairwise RLHF: how often contributors picked the response shown first (left) rather than second.

    Stored choices name SHOWN positions (A = left), and each contributor saw a random order, so without a
    position preference ``share_left`` is 0.5; ``p_value`` is the two-sided exact binomial test of that.
    Ties and "both bad" are not counted. Live over every answer (one aggregate query); None for other
    campaigns.
    """
    if campaign.task_type != "rlhf" or (campaign.config or {}).get("mode") != "pairwise":
        return None
    from scipy.stats import binomtest  # heavy library: loaded on first use, not in every web process

    counts = Annotation.objects.filter(campaign=campaign).aggregate(
        left=Count("id", filter=Q(payload__choice="A")), right=Count("id", filter=Q(payload__choice="B")),
        other=Count("id", filter=Q(payload__choice__in=["tie", "both_bad"])),
    )
    left, right = counts["left"], counts["right"]
    n = left + right
    return {
        "n": n, "left": left, "right": right, "ties": counts["other"],
        "share_left": round(left / n, 4) if n else None,
        "p_value": float(binomtest(left, n, 0.5).pvalue) if n else None,
        "randomized_order": bool((campaign.config or {}).get("randomize_order", True)),
    }


quality_report = campaign_quality_report  # the name the review dashboard looks for
