"""Export layouts: how one stored record becomes rows in the format training code reads.

A layout is a name, a unit (one row source per ``annotation`` or per ``item`` with its consensus),
a fixed Arrow schema (so Parquet batches and ``datasets`` features are stable), a split-group key
(``item`` keeps all annotations of an item in one split; ``speaker`` keeps a speaker in one split)
and a ``build(record, ctx) -> list[dict]`` function.

A task type's own layouts live in its package (``task_types/<key>/layouts.py``) and the type declares
them with ``export_layouts = layouts_for(DPO, REWARD)``; ``raw`` (here) is supported by every type, and
the helpers below (``json_field``, ``first_text``, ``text_of``, ``storage_key``) read records for them. Records come from ``exports.selectors``:
JSON columns arrive as JSON text (``item_payload``, ``payload``, ``result``) so the raw layout passes
them through without decoding and the others decode only what they read; the telemetry arrives
summarised and ``created_at`` as ISO 8601 text.

This module imports no models, so task-type packages can import it at load time.
"""
from __future__ import annotations

import math
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson


class _LazyPyarrow:
    """pyarrow is imported on first use: web processes load task types (and so this module) but only the
    export worker builds Arrow schemas (saves ~27 MB per web process)."""

    def __getattr__(self, name):
        import pyarrow  # heavy library: loaded on first use, not in every web process

        return getattr(pyarrow, name)


pa = _LazyPyarrow()

UNIT_ANNOTATION = "annotation"
UNIT_ITEM = "item"


@dataclass
class LayoutContext:
    """Per-export state a layout may use: media to package (storage key -> archive path), and the campaign's
    config (a layout whose values depend on it, e.g. class ids from the campaign's labels)."""

    media: dict[str, str] = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    def media_path(self, key: str, item_id: int) -> str:
        """The archive path for a storage key; the engine copies the file into the zip."""
        if key not in self.media:
            base = posixpath.basename(key.replace("\\", "/")) or "file"
            self.media[key] = f"media/{item_id}_{base}"
        return self.media[key]


_SCHEMAS: dict[tuple, Any] = {}

# Authorship evidence carried by every layout with contributor-written free text (``free_text=True``): one
# value per row, from authenticity.selectors.export_evidence; on item rows, over the item's answers (lowest
# score, any flag, any paste, any reference match, every reason). Names are stable: README, "Data authenticity".
AUTHORSHIP_COLUMNS = (
    "authorship_score", "authorship_flagged", "authorship_reasons", "authorship_evidence",
    "authorship_paste_seen", "authorship_reference_match", "authorship_reference_model",
)
NO_AUTHORSHIP = {"authorship_score": None, "authorship_flagged": None, "authorship_reasons": [],
                 "authorship_evidence": "", "authorship_paste_seen": None, "authorship_reference_match": None,
                 "authorship_reference_model": ""}


def authorship_fields() -> list:
    return [("authorship_score", pa.float64()), ("authorship_flagged", pa.bool_()),
            ("authorship_reasons", pa.list_(pa.string())), ("authorship_evidence", pa.string()),
            ("authorship_paste_seen", pa.bool_()), ("authorship_reference_match", pa.bool_()),
            ("authorship_reference_model", pa.string())]


# Model assistance carried by every layout (docs/ml-backends.md, "Exports"): whether a model's suggestion was
# shown with the answer, whether it went back unchanged (the server's verdict, assist.acceptance), the verdict
# and its edit distance (characters for text, changed fields otherwise); on item rows, over the item's answers
# (shown to any; accepted by all it was shown to). Values from assist.selectors.export_suggestions. A layout
# whose Parquet metadata fixes its features (``schema_metadata``: e.g. spans' ``huggingface``) has no room
# for them and goes without.
SUGGESTION_COLUMNS = ("suggestion_shown", "suggestion_accepted", "suggestion_outcome", "suggestion_edit_distance")
NO_SUGGESTION = {"suggestion_shown": False, "suggestion_accepted": None, "suggestion_outcome": "",
                 "suggestion_edit_distance": None}


def suggestion_fields() -> list:
    return [("suggestion_shown", pa.bool_()), ("suggestion_accepted", pa.bool_()),
            ("suggestion_outcome", pa.string()), ("suggestion_edit_distance", pa.int64())]


@dataclass(frozen=True)
class Tree:
    """A whole-dataset file tree a layout can be exported as instead of row files (COCO, YOLO, Pascal VOC):
    the format name the export request gives, and ``write(records, out_dir, ctx) -> counts`` which writes
    its files under ``out_dir`` and names the media it needs in ``ctx.media`` (storage key -> path in the
    archive); the engine packages both, with the dataset card, like any export."""

    format: str
    description: str
    write: Callable[[Any, Any, LayoutContext], dict]


@dataclass(frozen=True)
class Layout:
    name: str
    unit: str
    schema_factory: Callable[[], Any]  # returns the pyarrow.Schema (built on first use)
    build: Callable[[Any, LayoutContext], list[dict]]
    group: str = "item"  # split group: "item" or "speaker"
    has_media: bool = False
    description: str = ""
    free_text: bool = False  # rows carry contributor-written text: the authorship columns are appended
    # The campaign's config -> Parquet schema metadata (str -> str), e.g. ``huggingface`` features whose class
    # names come from the campaign's labels; the schema's columns stay fixed, only the metadata varies.
    schema_metadata: Callable[[dict], dict[str, str]] | None = None
    trees: tuple[Tree, ...] = ()  # file-tree formats besides jsonl/parquet/csv (exports.engine.write_tree)

    def tree(self, fmt: str) -> Tree | None:
        return next((t for t in self.trees if t.format == fmt), None)

    def metadata_for(self, config: dict) -> dict[str, str] | None:
        return self.schema_metadata(config) if self.schema_metadata else None

    @property
    def carries_suggestions(self) -> bool:
        return self.schema_metadata is None

    @property
    def schema(self):
        key = (self.schema_factory, self.free_text, self.carries_suggestions)
        if key not in _SCHEMAS:
            schema = self.schema_factory()
            if self.free_text:
                for name, kind in authorship_fields():
                    schema = schema.append(pa.field(name, kind))
            if self.carries_suggestions:
                for name, kind in suggestion_fields():
                    schema = schema.append(pa.field(name, kind))
            _SCHEMAS[key] = schema
        return _SCHEMAS[key]

    @property
    def columns(self) -> list[str]:
        return self.schema.names


def json_field(text: str | None) -> Any:
    """A record's JSON column (JSON text) decoded; {} when empty."""
    return orjson.loads(text) if text else {}


def first_text(data: dict, keys: tuple[str, ...]) -> str:
    """The first non-blank string among ``keys`` of ``data``."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def text_of(value) -> str:
    """A response or claim given either as {"text": ...} or as a plain value."""
    return value.get("text", "") if isinstance(value, dict) else str(value)


def storage_key(item: dict, keys: tuple[str, ...]) -> str:
    """The first media storage key among ``keys`` (a string, or {"key": ...})."""
    for key in keys:
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict) and isinstance(value.get("key"), str):
            return value["key"]
    return ""


# --- raw -------------------------------------------------------------------------------------

def raw_schema():
    return pa.schema([
    ("annotation_id", pa.int64()), ("item_id", pa.int64()), ("external_id", pa.string()),
    ("item", pa.string()), ("annotation", pa.string()), ("contributor", pa.string()),
    ("region", pa.string()), ("is_gold", pa.bool_()), ("gold_correct", pa.bool_()),
    ("time_spent_ms", pa.int64()), ("active_ms", pa.int64()), ("keystrokes", pa.int64()),
    ("pastes", pa.int64()), ("pasted_chars", pa.int64()), ("focus_losses", pa.int64()),
    ("consensus_state", pa.string()), ("agreement", pa.float64()), ("created_at", pa.string()),
])


def _round_half_away(value) -> int | None:
    """PostgreSQL's round(numeric) (half away from zero), clamped to int64 as the SQL path does."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
        return None
    value = max(-9e18, min(9e18, value))
    return int(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)


def telemetry_summary(text: str | None) -> tuple:
    """(active_ms, keystrokes, pastes, pasted_chars, focus_losses) from the labelling page's telemetry.

    The ORM path's version of what the PostgreSQL export query computes with jsonb operators.
    """
    tel = json_field(text)
    if not isinstance(tel, dict):
        return None, None, None, None, None
    pastes = tel.get("pastes")
    count = pasted = None
    if isinstance(pastes, list):
        count = len(pastes)
        lengths = [_round_half_away(p.get("length")) for p in pastes if isinstance(p, dict)]
        pasted = sum(max(0, min(10**12, n)) for n in lengths if n is not None)
    return (_round_half_away(tel.get("active_ms")), _round_half_away(tel.get("keystrokes")), count, pasted,
            _round_half_away(tel.get("focus_losses")))


def raw(rec, ctx: LayoutContext) -> list[dict]:
    return [{
        "annotation_id": rec.id, "item_id": rec.item_id, "external_id": rec.external_id,
        "item": rec.item_payload, "annotation": rec.payload, "contributor": rec.contributor or "",
        "region": rec.region or "", "is_gold": rec.is_gold, "gold_correct": rec.gold_correct,
        "time_spent_ms": rec.time_spent_ms, "active_ms": rec.active_ms, "keystrokes": rec.keystrokes,
        "pastes": rec.pastes, "pasted_chars": rec.pasted_chars, "focus_losses": rec.focus_losses,
        "consensus_state": rec.state or "", "agreement": rec.agreement, "created_at": rec.created_at,
    }]


RAW = Layout("raw", UNIT_ANNOTATION, raw_schema, raw, free_text=True,
             description="Every annotation with its contributor pseudonym and a telemetry summary.")

# Every layout known by name: raw, and each one a loaded task type declared through layouts_for.
LAYOUTS: dict[str, Layout] = {RAW.name: RAW}


def layouts_for(*layouts: Layout | str) -> dict[str, Layout]:
    """What a task type puts in ``export_layouts``: raw plus its own layouts (or names already known).

    A layout name is global (the export API takes it): two different layouts under one name is an error.
    """
    declared = {RAW.name: RAW}
    for layout in layouts:
        if isinstance(layout, str):
            layout = LAYOUTS[layout]
        known = LAYOUTS.setdefault(layout.name, layout)
        if known is not layout:
            raise ValueError(f"Two export layouts are named {layout.name!r}.")
        declared[layout.name] = layout
    return declared


def supported_layouts(task_type) -> dict[str, Layout]:
    """The layouts a campaign of this task type can be exported in."""
    declared = getattr(task_type, "export_layouts", None) or {}
    return {RAW.name: RAW, **{name: layout for name, layout in declared.items() if isinstance(layout, Layout)}}
