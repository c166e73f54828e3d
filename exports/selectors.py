"""Reads for exports: the rows an export streams, the statistics of its dataset card, scoping."""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Avg, Count, F, Max, Min, QuerySet, StdDev, TextField
from django.db.models.functions import Cast

from annotations.models import Annotation, Consensus
from tasks.models import Campaign

from .layouts import UNIT_ANNOTATION, Layout
from .models import Export

CHUNK_SIZE = 5000  # rows per server-side cursor fetch

RECORD_FIELDS = (
    "id", "item_id", "external_id", "item_payload", "payload", "contributor", "region", "province",
    "birth_year", "gender", "is_gold", "gold_correct", "time_spent_ms", "active_ms", "keystrokes", "pastes",
    "pasted_chars", "focus_losses", "created_at", "state", "agreement", "confidence", "result", "n_answers",
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


TELEMETRY_FIELDS = ("active_ms", "keystrokes", "pastes", "pasted_chars", "focus_losses")


def export_records(campaign: Campaign, layout: Layout, filters: dict) -> Iterator:
    """Stream the records of an export in a stable order (primary key), through a server-side cursor.

    On PostgreSQL one SQL statement does the work the database is fast at: JSON columns come as
    JSON text (the raw layout passes them through without a decode/encode round trip), the
    telemetry summary is computed with jsonb operators and timestamps arrive as ISO 8601 text, so
    the worker's Python does little per row. Other databases (the SQLite demo) take the ORM path
    and get records of the same shape. Call it inside a transaction (the cursor then needs no
    WITH HOLD copy of the result).
    """
    if connection.vendor == "postgresql":
        yield from _postgres_records(campaign, layout, filters)
    else:
        yield from _orm_records(campaign, layout, filters)


def _iso(column: str) -> str:
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def _tel_int(key: str) -> str:
    value = f"(a.telemetry->'{key}')"
    return (f"CASE WHEN jsonb_typeof({value}) = 'number' THEN "
            f"least(greatest(round(({value})::text::numeric), -9e18), 9e18)::bigint END")


_PASTES = "(a.telemetry->'pastes')"
_ANNOTATION_SQL = f"""
SELECT a.id, a.item_id, i.external_id, i.payload::text, a.payload::text, p.pseudonym, p.region, p.province,
       p.birth_year, p.gender, a.is_gold, a.gold_correct, a.time_spent_ms,
       {_tel_int("active_ms")}, {_tel_int("keystrokes")},
       CASE WHEN jsonb_typeof({_PASTES}) = 'array' THEN jsonb_array_length({_PASTES}) END,
       CASE WHEN jsonb_typeof({_PASTES}) = 'array' THEN (
           SELECT coalesce(sum(least(greatest(round((e->'length')::text::numeric), 0), 1e12)), 0)::bigint
           FROM jsonb_array_elements({_PASTES}) e WHERE jsonb_typeof(e->'length') = 'number') END,
       {_tel_int("focus_losses")}, {_iso("a.created_at")},
       c.state, c.agreement, c.confidence, c.result::text, c.n_answers
FROM annotations_annotation a
JOIN tasks_item i ON i.id = a.item_id
LEFT JOIN annotations_consensus c ON c.item_id = a.item_id
LEFT JOIN contributors_contributorprofile p ON p.user_id = a.contributor_id
WHERE a.campaign_id = %s {{where}}
ORDER BY a.id"""

# Item records: the item's source contributor (the speaker of a recording) is the record's contributor.
_ITEM_SQL = f"""
SELECT c.item_id, c.item_id, i.external_id, i.payload::text, NULL, p.pseudonym, p.region, p.province,
       p.birth_year, p.gender, i.is_gold, NULL, NULL, NULL, NULL, NULL, NULL, NULL, {_iso("c.updated_at")},
       c.state, c.agreement, c.confidence, c.result::text, c.n_answers
FROM annotations_consensus c
JOIN tasks_item i ON i.id = c.item_id
LEFT JOIN contributors_contributorprofile p ON p.user_id = i.source_contributor_id
WHERE c.campaign_id = %s {{where}}
ORDER BY c.item_id"""


def _postgres_records(campaign: Campaign, layout: Layout, filters: dict) -> Iterator:
    where, params = [], [campaign.pk]
    if filters.get("finalised_only"):
        where.append("AND c.state = %s")
        params.append(Consensus.State.FINALISED)
    if filters.get("min_agreement") is not None:
        where.append("AND c.agreement >= %s")
        params.append(filters["min_agreement"])
    if filters.get("since"):
        where.append("AND a.created_at >= %s" if layout.unit == UNIT_ANNOTATION else "AND c.updated_at >= %s")
        params.append(_as_datetime(filters["since"]))
    sql = (_ANNOTATION_SQL if layout.unit == UNIT_ANNOTATION else _ITEM_SQL).replace("{where}", " ".join(where))
    make = ExportRecord._make
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK_SIZE):
            for row in rows:
                yield make(row)


def _orm_records(campaign: Campaign, layout: Layout, filters: dict) -> Iterator:
    from .layouts import telemetry_summary

    text = TextField()
    if layout.unit == UNIT_ANNOTATION:
        qs = annotation_queryset(campaign, filters).order_by("id").values_list(
            "id", "item_id", "item__external_id", Cast("item__payload", text), Cast("payload", text),
            "contributor__contributor__pseudonym", "contributor__contributor__region",
            "contributor__contributor__province", "contributor__contributor__birth_year",
            "contributor__contributor__gender", "is_gold", "gold_correct", "time_spent_ms",
            Cast("telemetry", text), "created_at", "item__consensus__state", "item__consensus__agreement",
            "item__consensus__confidence", Cast("item__consensus__result", text), "item__consensus__n_answers",
        )
        for row in qs.iterator(chunk_size=CHUNK_SIZE):
            yield ExportRecord(*row[:13], *telemetry_summary(row[13]), _iso_text(row[14]), *row[15:])
    else:
        qs = consensus_queryset(campaign, filters).order_by("item_id").values_list(
            "item_id", "item__external_id", Cast("item__payload", text),
            "item__source_contributor__contributor__pseudonym", "item__source_contributor__contributor__region",
            "item__source_contributor__contributor__province",
            "item__source_contributor__contributor__birth_year", "item__source_contributor__contributor__gender",
            "item__is_gold", "updated_at", "state", "agreement", "confidence", Cast("result", text), "n_answers",
        )
        for row in qs.iterator(chunk_size=CHUNK_SIZE):
            yield ExportRecord(row[0], row[0], row[1], row[2], None, *row[3:9], None, None, None, None, None,
                               None, None, _iso_text(row[9]), *row[10:])


def _iso_text(moment) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
