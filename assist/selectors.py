"""Reads of the assist app: the health report, the quality report (assisted vs unassisted answers, contributors
who accept nearly everything) and the export columns."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from annotations.models import Annotation

from .models import BackendCall, Exposure, ModelBackend, Suggestion
from .services import breaker_state, classify_exposures

# A contributor is flagged when at least this share of the suggestions they were shown went back unchanged,
# over at least FLAG_MIN_SHOWN of them: a careful labeller corrects a model sometimes.
FLAG_ACCEPT_SHARE = 0.95
FLAG_MIN_SHOWN = 20
FAILURE_OUTCOMES = (
    BackendCall.Outcome.TIMEOUT,
    BackendCall.Outcome.HTTP_ERROR,
    BackendCall.Outcome.CONNECTION,
    BackendCall.Outcome.WRONG_SCHEMA,
    BackendCall.Outcome.BREAKER_OPEN,
)


def backend_health(backend: ModelBackend, *, days: int = 7) -> dict:
    """Calls of the last ``days`` by outcome, suggestions refused for a wrong schema, breaker state."""
    since = timezone.now() - timedelta(days=days)
    calls = BackendCall.objects.filter(backend=backend, created_at__gte=since)
    by_outcome = dict(calls.order_by().values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n"))
    refused = sum(calls.values_list("refused", flat=True))
    last_failure = calls.filter(outcome__in=FAILURE_OUTCOMES).order_by("-id").first()
    return {
        "backend": backend,
        "breaker": breaker_state(backend),
        "consecutive_failures": backend.consecutive_failures,
        "calls": sum(by_outcome.values()),
        "ok": by_outcome.get(BackendCall.Outcome.OK, 0),
        "failures": {o: by_outcome.get(o, 0) for o in FAILURE_OUTCOMES},
        "suggestions_refused": refused,
        "suggestions": Suggestion.objects.filter(backend=backend).count(),
        "last_failure": last_failure,
        "last_success_at": backend.last_success_at,
        "model_version": backend.model_version,
    }


def campaign_health(campaign) -> list[dict]:
    return [backend_health(b) for b in ModelBackend.objects.filter(campaign=campaign).order_by("id")]


def suggestion_report(campaign) -> dict | None:
    """Agreement with consensus for answers given with a suggestion shown vs without (controls and items the
    model had nothing for), acceptance outcomes, and contributors who accept (nearly) everything. None when
    the campaign never had a backend."""
    if not ModelBackend.objects.filter(campaign=campaign).exists():
        return None
    classify_exposures(campaign_id=campaign.pk)
    exposed = Exposure.objects.filter(campaign=campaign)
    answered = Annotation.objects.filter(campaign=campaign, is_gold=False)

    def agreement(qs) -> dict:
        row = qs.aggregate(
            seen=Count("id", filter=Q(agrees_with_consensus__isnull=False)),
            agreed=Count("id", filter=Q(agrees_with_consensus=True)),
            answers=Count("id"),
        )
        row["rate"] = row["agreed"] / row["seen"] if row["seen"] else None
        return row

    shown_ids = exposed.filter(shown=True).values("assignment_id")
    assisted = agreement(answered.filter(assignment_id__in=shown_ids))
    unassisted = agreement(answered.exclude(assignment_id__in=shown_ids))
    controls = agreement(
        answered.filter(assignment_id__in=exposed.filter(control=True).values("assignment_id"))
    )
    outcomes = dict(
        exposed.filter(shown=True)
        .exclude(outcome="")
        .values_list("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
    )
    per_contributor = (
        exposed.filter(shown=True)
        .exclude(outcome="")
        .values("contributor_id", "contributor__contributor__pseudonym")
        .annotate(shown=Count("id"), accepted=Count("id", filter=Q(outcome=Exposure.Outcome.ACCEPTED)))
        .order_by("-shown")
    )
    contributors = []
    for row in per_contributor:
        share = row["accepted"] / row["shown"]
        contributors.append(
            {
                "contributor_id": row["contributor_id"],
                "pseudonym": row["contributor__contributor__pseudonym"] or "",
                "shown": row["shown"],
                "accepted": row["accepted"],
                "accept_share": share,
                "flagged": row["shown"] >= FLAG_MIN_SHOWN and share >= FLAG_ACCEPT_SHARE,
            }
        )
    totals = exposed.aggregate(
        served=Count("id"),
        shown=Count("id", filter=Q(shown=True)),
        controls=Count("id", filter=Q(control=True)),
    )
    return {
        "assisted": assisted,
        "unassisted": unassisted,
        "controls": controls,
        "outcomes": outcomes,
        "contributors": contributors,
        "flagged": [c for c in contributors if c["flagged"]],
        **totals,
        "control_share_served": totals["controls"] / totals["served"] if totals["served"] else None,
        "flag_rule": {"share": FLAG_ACCEPT_SHARE, "min_shown": FLAG_MIN_SHOWN},
    }


# --- export columns (exports.layouts.SUGGESTION_COLUMNS) ----------------------------------------------------


def export_suggestions(ids: list[int], unit: str) -> dict[int, dict]:
    """The suggestion columns of export rows by annotation id (or item id for item rows: shown to any of the
    item's answers, accepted by all of those it was shown to). One query per batch of rows."""
    key = "assignment__annotation__id" if unit == "annotation" else "item_id"
    rows = Exposure.objects.filter(**{f"{key}__in": ids}, shown=True).values_list(
        key, "outcome", "fields_changed", "chars_changed"
    )
    out: dict[int, dict] = {}
    for ident, outcome, fields_changed, chars_changed in rows:
        accepted = outcome == Exposure.Outcome.ACCEPTED if outcome else None
        distance = chars_changed if chars_changed else fields_changed
        found = out.get(ident)
        if found is None:
            out[ident] = {
                "suggestion_shown": True,
                "suggestion_accepted": accepted,
                "suggestion_outcome": outcome,
                "suggestion_edit_distance": distance,
            }
        else:  # item rows: several answers
            if found["suggestion_accepted"] is not False and accepted is not None:
                found["suggestion_accepted"] = (
                    accepted
                    if found["suggestion_accepted"] is None
                    else (found["suggestion_accepted"] and accepted)
                )
            found["suggestion_outcome"] = "mixed" if found["suggestion_outcome"] != outcome else outcome
            found["suggestion_edit_distance"] = None
    return out
