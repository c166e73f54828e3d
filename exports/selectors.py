"""Reads for exports: the rows an export streams, the statistics of its dataset card, scoping."""
from __future__ import annotations

import queue
import threading
from collections import namedtuple
from collections.abc import Iterator
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Avg, Count, F, Max, Min, QuerySet, StdDev, TextField
from django.db.models.functions import Cast

from annotations.models import Annotation, Consensus
from tasks.models import Campaign

from .layouts import UNIT_ANNOTATION, Layout, telemetry_summary
from .models import Export

CHUNK_SIZE = 5000  # rows per fetch

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
    if filters.get("item_ids"):
        qs = qs.filter(item_id__in=filters["item_ids"])
    return qs


def consensus_queryset(campaign: Campaign, filters: dict) -> QuerySet[Consensus]:
    qs = Consensus.objects.filter(campaign=campaign)
    if filters.get("finalised_only"):
        qs = qs.filter(state=Consensus.State.FINALISED)
    if filters.get("min_agreement") is not None:
        qs = qs.filter(agreement__gte=filters["min_agreement"])
    if filters.get("since"):
        qs = qs.filter(updated_at__gte=_as_datetime(filters["since"]))
    if filters.get("item_ids"):
        qs = qs.filter(item_id__in=filters["item_ids"])
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
    # jsonb -> numeric directly (no text round trip); round() is half away from zero like the ORM path's.
    value = f"(a.telemetry->'{key}')"
    return (f"CASE WHEN jsonb_typeof({value}) = 'number' THEN "
            f"least(greatest(round({value}::numeric), -9e18), 9e18)::bigint END")


_PASTES = "(a.telemetry->'pastes')"
# The joins the database is fast at stay in SQL (item and consensus by index, one probe each, in the
# annotation order); the contributor profile (a few thousand rows per campaign) is looked up in Python.
# The pastes sub-select only runs for non-empty arrays (most annotations have none).
_ANNOTATION_SQL = f"""
SELECT a.id, a.item_id, i.external_id, i.payload::text, a.payload::text, a.contributor_id,
       a.is_gold, a.gold_correct, a.time_spent_ms,
       {_tel_int("active_ms")}, {_tel_int("keystrokes")},
       CASE WHEN jsonb_typeof({_PASTES}) = 'array' THEN jsonb_array_length({_PASTES}) END,
       CASE WHEN jsonb_typeof({_PASTES}) = 'array' THEN
           CASE WHEN jsonb_array_length({_PASTES}) = 0 THEN 0 ELSE (
               SELECT coalesce(sum(least(greatest(round((e->'length')::numeric), 0), 1e12)), 0)::bigint
               FROM jsonb_array_elements({_PASTES}) e WHERE jsonb_typeof(e->'length') = 'number') END END,
       {_tel_int("focus_losses")}, {_iso("a.created_at")},
       c.state, c.agreement, c.confidence, c.result::text, c.n_answers
FROM annotations_annotation a
JOIN tasks_item i ON i.id = a.item_id
LEFT JOIN annotations_consensus c ON c.item_id = a.item_id
WHERE a.campaign_id = %s {{where}}
ORDER BY a.id"""

# Item records: the item's source contributor (the speaker of a recording) is the record's contributor.
# The sub-select orders only the keys (no index has (campaign, item) order), the wide columns are then
# read by index in that order, so no sort of the JSON text and the rows stream from the first one.
_ITEM_SQL = f"""
SELECT c.item_id, c.item_id, i.external_id, i.payload::text, NULL, i.source_contributor_id,
       i.is_gold, NULL, NULL, NULL, NULL, NULL, NULL, NULL, {_iso("c.updated_at")},
       c.state, c.agreement, c.confidence, c.result::text, c.n_answers
FROM (SELECT c.item_id FROM annotations_consensus c WHERE c.campaign_id = %s {{where}} ORDER BY c.item_id) k
JOIN annotations_consensus c ON c.item_id = k.item_id
JOIN tasks_item i ON i.id = c.item_id
ORDER BY k.item_id"""

_PROFILE_SQL = """
SELECT p.user_id, p.pseudonym, p.region, p.province, p.birth_year, p.gender
FROM contributors_contributorprofile p WHERE p.user_id IN ({people})"""
_ANNOTATION_PEOPLE = "SELECT DISTINCT contributor_id FROM annotations_annotation WHERE campaign_id = %s"
_ITEM_PEOPLE = "SELECT DISTINCT source_contributor_id FROM tasks_item WHERE campaign_id = %s"
_NO_PROFILE = (None, None, None, None, None)

# Planner settings for the row statement only (reset afterwards): index probes in the scan order
# instead of a merge join plus a sort of every wide row (which spilled ~600 MB to disk and sent the
# first row only after the whole result was computed), no parallel workers (the export process needs
# the second core), no JIT (its compile time is not won back on this per-row work).
_STREAM_SETTINGS = ("enable_hashjoin", "enable_mergejoin", "max_parallel_workers_per_gather", "jit")


def _postgres_records(campaign: Campaign, layout: Layout, filters: dict) -> Iterator:
    """The rows through a server-side cursor read ahead by a thread: while this thread builds and writes
    chunk n, the reader has PostgreSQL compute chunk n+1 (psycopg releases the GIL while it waits), so
    the database's time and the worker's overlap instead of adding up."""
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
    if filters.get("item_ids"):  # the dataset view's selection: one array parameter, however many items
        where.append("AND a.item_id = ANY(%s)" if layout.unit == UNIT_ANNOTATION else "AND c.item_id = ANY(%s)")
        params.append(list(filters["item_ids"]))
    by_annotation = layout.unit == UNIT_ANNOTATION
    sql = (_ANNOTATION_SQL if by_annotation else _ITEM_SQL).replace("{where}", " ".join(where))
    people = _ANNOTATION_PEOPLE if by_annotation else _ITEM_PEOPLE
    make = ExportRecord._make
    connection.ensure_connection()
    conn = connection.connection  # psycopg's own connection (the reader thread uses it, this thread does not)
    with conn.cursor() as cursor:
        cursor.execute(_PROFILE_SQL.replace("{people}", people), [campaign.pk])
        profiles = {row[0]: row[1:] for row in cursor.fetchall()}
        for name, value in zip(_STREAM_SETTINGS, ("off", "off", "0", "off"), strict=True):
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
    get = profiles.get
    for rows in _read_ahead(conn, sql, params):
        for row in rows:
            yield make((*row[:5], *get(row[5], _NO_PROFILE), *row[6:]))
    with conn.cursor() as cursor:
        # (After an error the enclosing transaction rolls back, and the SET LOCAL values with it.)
        for name in _STREAM_SETTINGS:
            cursor.execute(f"RESET {name}")


_DONE = object()


def _read_ahead(conn, sql: str, params: list, depth: int = 2) -> Iterator[list]:
    """Chunks of ``CHUNK_SIZE`` rows from a server-side cursor, fetched by a thread ``depth`` chunks ahead.

    Memory is bounded (at most depth + 2 chunks exist at once). An error in the reader is raised here;
    a consumer that stops early (or fails) stops the reader before the cursor is closed.
    """
    chunks: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value) -> bool:
        while not stop.is_set():
            try:
                chunks.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            with conn.cursor(name=f"export_{threading.get_ident()}") as cursor:
                cursor.execute(sql, params)
                while rows := cursor.fetchmany(CHUNK_SIZE):
                    if not put(rows):
                        return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            put(exc)

    reader = threading.Thread(target=read, name="export-reader", daemon=True)
    reader.start()
    try:
        while (chunk := chunks.get()) is not _DONE:
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk
    finally:
        stop.set()
        reader.join()


def _orm_records(campaign: Campaign, layout: Layout, filters: dict) -> Iterator:

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
