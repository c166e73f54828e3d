"""Reads for exports: the rows an export streams, the statistics of its dataset card, scoping."""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from datetime import datetime

from django.db.models import Avg, Count, F, Max, Min, QuerySet, StdDev, TextField, Value
from django.db.models.functions import Cast

from annotations.models import Annotation, Consensus
from tasks.models import Campaign

from .layouts import UNIT_ANNOTATION, Layout
from .models import Export

CHUNK_SIZE = 5000  # rows per server-side cursor fetch

RECORD_FIELDS = (
    "id", "item_id", "external_id", "item_payload", "payload", "contributor", "region", "province",
    "birth_year", "gender", "is_gold", "gold_correct", "time_spent_ms", "telemetry", "created_at", "state",
    "agreement", "confidence", "result", "n_answers",
)
# Both units give records of this one shape (absent values are None), so layouts read one interface.


def exports_for(organization) -> QuerySet[Export]:
    return Export.objects.filter(organization=organization).select_related("campaign")


def annotation_queryset(campaign: Campaign, filters: dict) -> QuerySet[Annotation]:
    qs = Annotation.objects.filter(campaign=campaign)
    if filters.get("finalised_only"):
        qs = qs.filter(item__consensus__state=Consensus.State.FINALISED)
    if filters.get("min_agreement") is not None:
        qs = qs.filter(item__consensus__agreement__gte=filters["min_agreement"])
    if filters.get("since"):
        qs = qs.filter(created_at__gte=_as_datetime(filters["since"]))
    return qs


def consensus_queryset(campaign: Campaign, filters: dict) -> QuerySet[Consensus]:
    qs = Consensus.objects.filter(campaign=campaign)
    if filters.get("finalised_only"):
        qs = qs.filter(state=Consensus.State.FINALISED)
    if filters.get("min_agreement") is not None:
        qs = qs.filter(agreement__gte=filters["min_agreement"])
    if filters.get("since"):
        qs = qs.filter(updated_at__gte=_as_datetime(filters["since"]))
    return qs


def _as_datetime(value) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def base_queryset(campaign: Campaign, layout: Layout, filters: dict) -> QuerySet:
    if layout.unit == UNIT_ANNOTATION:
        return annotation_queryset(campaign, filters)
    return consensus_queryset(campaign, filters)


def export_records(campaign: Campaign, layout: Layout, filters: dict) -> Iterator:
    """Stream the records of an export in a stable order, through a server-side cursor.

    JSON columns are cast to text in SQL so the raw layout writes them without a decode/encode
    round trip; ordering by primary key makes the same filters give the same bytes.
    """
    text = TextField()
    if layout.unit == UNIT_ANNOTATION:
        qs = annotation_queryset(campaign, filters).order_by("id").annotate(
            external_id_=F("item__external_id"),
            item_payload=Cast("item__payload", text),
            payload_text=Cast("payload", text),
            telemetry_text=Cast("telemetry", text),
            contributor_=F("contributor__contributor__pseudonym"),
            region_=F("contributor__contributor__region"),
            province_=F("contributor__contributor__province"),
            birth_year_=F("contributor__contributor__birth_year"),
            gender_=F("contributor__contributor__gender"),
            state_=F("item__consensus__state"),
            agreement_=F("item__consensus__agreement"),
            confidence_=F("item__consensus__confidence"),
            result_=Cast("item__consensus__result", text),
            n_answers_=F("item__consensus__n_answers"),
        ).values_list(
            "id", "item_id", "external_id_", "item_payload", "payload_text", "contributor_", "region_",
            "province_", "birth_year_", "gender_", "is_gold", "gold_correct", "time_spent_ms", "telemetry_text",
            "created_at", "state_", "agreement_", "confidence_", "result_", "n_answers_",
        )
    else:
        # Item records carry the item's source contributor (the speaker of a recording) as "contributor".
        qs = consensus_queryset(campaign, filters).order_by("item_id").annotate(
            id_=F("item_id"),
            external_id_=F("item__external_id"),
            item_payload=Cast("item__payload", text),
            contributor_=F("item__source_contributor__contributor__pseudonym"),
            region_=F("item__source_contributor__contributor__region"),
            province_=F("item__source_contributor__contributor__province"),
            birth_year_=F("item__source_contributor__contributor__birth_year"),
            gender_=F("item__source_contributor__contributor__gender"),
            is_gold_=F("item__is_gold"),
            result_text=Cast("result", text),
            none_=Value(None, output_field=text),
        ).values_list(
            "id_", "item_id", "external_id_", "item_payload", "none_", "contributor_", "region_",
            "province_", "birth_year_", "gender_", "is_gold_", "none_", "none_", "none_",
            "updated_at", "state", "agreement", "confidence", "result_text", "n_answers",
        )
    make = ExportRecord._make
    for row in qs.iterator(chunk_size=CHUNK_SIZE):
        yield make(row)


ExportRecord = namedtuple("ExportRecord", RECORD_FIELDS)


def card_statistics(campaign: Campaign, layout: Layout, filters: dict) -> dict:
    """Aggregates for the dataset card, computed in SQL over exactly the exported selection."""
    annotations = annotation_queryset(campaign, filters)
    consensus = consensus_queryset(campaign, filters)
    if layout.unit == UNIT_ANNOTATION:
        items = Consensus.objects.filter(item__in=annotations.values("item_id"))
    else:
        items = consensus
        annotations = Annotation.objects.filter(item__in=consensus.values("item_id"))
    span = annotations.aggregate(first=Min("created_at"), last=Max("created_at"), n=Count("id"),
                                 contributors=Count("contributor", distinct=True),
                                 items=Count("item", distinct=True))
    agreement = items.aggregate(mean=Avg("agreement"), min=Min("agreement"), max=Max("agreement"),
                                std=StdDev("agreement"), n=Count("id"))
    states = dict(items.values_list("state").annotate(n=Count("id")).order_by("state"))
    regions = list(
        annotations.values(region=F("contributor__contributor__region"))
        .annotate(contributors=Count("contributor", distinct=True), annotations=Count("id"))
        .order_by("region")
    )
    stats = {
        "annotations": span["n"], "items": span["items"], "contributors": span["contributors"],
        "first_annotation": span["first"], "last_annotation": span["last"],
        "agreement": agreement, "consensus_states": states, "regions": regions,
    }
    if layout.group == "speaker":
        stats["speakers"] = list(
            consensus.values(region=F("item__source_contributor__contributor__region"))
            .annotate(speakers=Count("item__source_contributor", distinct=True), recordings=Count("id"))
            .order_by("region")
        )
    return stats
