"""Export layouts: how one stored record becomes rows in the format training code reads.

A layout is a name, a unit (one row source per ``annotation`` or per ``item`` with its consensus),
a fixed Arrow schema (so Parquet batches and ``datasets`` features are stable), a split-group key
(``item`` keeps all annotations of an item in one split; ``speaker`` keeps a speaker in one split)
and a ``build(record, ctx) -> list[dict]`` function.

Task types declare which layouts they support with ``export_layouts = layouts_for("dpo", ...)``
in their module (``raw`` is supported by every type). Records come from ``exports.selectors``:
JSON columns arrive as JSON text (``item_payload``, ``payload``, ``result``) so the raw layout passes
them through without decoding and the others decode only what they read; the telemetry arrives
summarised and ``created_at`` as ISO 8601 text.

This module imports no models, so task-type modules can import it at load time.
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
        import pyarrow

        return getattr(pyarrow, name)


pa = _LazyPyarrow()

UNIT_ANNOTATION = "annotation"
UNIT_ITEM = "item"


@dataclass
class LayoutContext:
    """Per-export state a layout may use: media to package (storage key -> archive path)."""

    media: dict[str, str] = field(default_factory=dict)

    def media_path(self, key: str, item_id: int) -> str:
        """The archive path for a storage key; the engine copies the file into the zip."""
        if key not in self.media:
            base = posixpath.basename(key.replace("\\", "/")) or "file"
            self.media[key] = f"media/{item_id}_{base}"
        return self.media[key]


_SCHEMAS: dict[str, Any] = {}


@dataclass(frozen=True)
class Layout:
    name: str
    unit: str
    schema_factory: Callable[[], Any]  # returns the pyarrow.Schema (built on first use)
    build: Callable[[Any, LayoutContext], list[dict]]
    group: str = "item"  # split group: "item" or "speaker"
    has_media: bool = False
    description: str = ""

    @property
    def schema(self):
        if self.name not in _SCHEMAS:
            _SCHEMAS[self.name] = self.schema_factory()
        return _SCHEMAS[self.name]

    @property
    def columns(self) -> list[str]:
        return self.schema.names


def _json(text: str | None) -> Any:
    return orjson.loads(text) if text else {}


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
    tel = _json(text)
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


# --- preference data (rlhf) --------------------------------------------------------------------

def dpo_schema():
    return pa.schema([
    ("prompt", pa.string()), ("chosen", pa.string()), ("rejected", pa.string()), ("margin", pa.float64()),
    ("agreement", pa.float64()), ("n_annotations", pa.int64()), ("item_id", pa.int64()),
    ("external_id", pa.string()),
])


def _response_text(response) -> str:
    return response.get("text", "") if isinstance(response, dict) else str(response)


def dpo(rec, ctx: LayoutContext) -> list[dict]:
    """TRL's DPOTrainer columns: prompt, chosen, rejected (+ margin). Ties and 'both bad' are skipped."""
    result = _json(rec.result)
    chosen, rejected = result.get("chosen"), result.get("rejected")
    if not isinstance(chosen, int) or not isinstance(rejected, int) or chosen == rejected:
        return []
    item = _json(rec.item_payload)
    responses = item.get("responses") or []
    if max(chosen, rejected) >= len(responses):
        return []
    return [{
        "prompt": item.get("prompt", ""), "chosen": _response_text(responses[chosen]),
        "rejected": _response_text(responses[rejected]), "margin": float(result.get("chosen_margin", result.get("margin")) or 0.0),
        "agreement": rec.agreement, "n_annotations": rec.n_answers, "item_id": rec.item_id,
        "external_id": rec.external_id,
    }]


def reward_schema():
    return pa.schema([
    ("prompt", pa.string()), ("response", pa.string()), ("score", pa.float64()), ("rank", pa.int64()),
    ("item_id", pa.int64()), ("response_index", pa.int64()), ("agreement", pa.float64()),
])


def reward(rec, ctx: LayoutContext) -> list[dict]:
    """One row per response with its consensus score (Bradley-Terry or rubric median) and rank."""
    result = _json(rec.result)
    item = _json(rec.item_payload)
    responses = item.get("responses") or []
    scores = result.get("overall") or result.get("scores") or []
    ranking = result.get("ranking") or []
    if len(scores) != len(responses):
        return []
    rank_of = {idx: place + 1 for place, idx in enumerate(ranking)}
    return [{
        "prompt": item.get("prompt", ""), "response": _response_text(resp), "score": float(scores[i]),
        "rank": rank_of.get(i), "item_id": rec.item_id, "response_index": i, "agreement": rec.agreement,
    } for i, resp in enumerate(responses)]


# --- supervised fine-tuning ---------------------------------------------------------------------

def message_type():
    return pa.struct([("role", pa.string()), ("content", pa.string())])
def sft_schema():
    return pa.schema([
    ("messages", pa.list_(message_type())), ("item_id", pa.int64()), ("annotation_id", pa.int64()),
    ("contributor", pa.string()), ("region", pa.string()),
])


def _first_text(data: dict, keys: tuple[str, ...]) -> str:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def sft(rec, ctx: LayoutContext) -> list[dict]:
    """Chat-format ``messages`` (TRL's SFTTrainer): the item's prompt/conversation + the human response."""
    item = _json(rec.item_payload)
    answer = _json(rec.payload)
    response = _first_text(answer, ("response", "text", "answer", "output"))
    if not response:
        return []
    messages = []
    system = item.get("system")
    if isinstance(system, str) and system:
        messages.append({"role": "system", "content": system})
    for turn in item.get("conversation") or item.get("messages") or []:
        if isinstance(turn, dict) and turn.get("content"):
            messages.append({"role": str(turn.get("role", "user")), "content": str(turn["content"])})
    # write_pair campaigns have the contributor write the instruction too.
    prompt = _first_text(answer, ("instruction",)) or _first_text(item, ("prompt", "instruction", "question", "text"))
    if prompt:
        messages.append({"role": "user", "content": prompt})
    messages.append({"role": "assistant", "content": response})
    return [{"messages": messages, "item_id": rec.item_id, "annotation_id": rec.id,
             "contributor": rec.contributor or "", "region": rec.region or ""}]


# --- hallucination audit ------------------------------------------------------------------------

def claim_type():
    return pa.struct([("claim", pa.string()), ("verdict", pa.string()), ("evidence", pa.list_(pa.string())),
                   ("correction", pa.string()), ("confidence", pa.float64())])
def hallucination_schema():
    return pa.schema([
    ("prompt", pa.string()), ("response", pa.string()), ("claims", pa.list_(claim_type())),
    ("hallucinated", pa.bool_()), ("overall", pa.string()), ("severity", pa.string()),
    ("agreement", pa.float64()), ("item_id", pa.int64()),
])
_BAD_VERDICTS = {"contradicted", "false", "unsupported", "hallucinated", "incorrect", "fabricated"}


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [v if isinstance(v, str) else orjson.dumps(v).decode() for v in value]
    return [value if isinstance(value, str) else orjson.dumps(value).decode()]


def _str_or_none(value) -> str | None:
    return None if value is None else str(value)


def hallucination(rec, ctx: LayoutContext) -> list[dict]:
    """The response, each claim with its consensus verdict, evidence and correction."""
    item = _json(rec.item_payload)
    result = _json(rec.result)
    texts = item.get("claims") or []
    verdicts = result.get("claims") or result.get("verdicts") or []
    claims = []
    for i, verdict in enumerate(verdicts):
        if isinstance(verdict, dict):
            text = verdict.get("claim") or verdict.get("text")
            if text is None and i < len(texts):
                text = _response_text(texts[i])
            claims.append({
                "claim": text or "", "verdict": str(verdict.get("verdict") or ""),
                "evidence": _as_list(verdict.get("evidence") or verdict.get("evidence_urls")
                                     or verdict.get("evidence_url")),
                "correction": _str_or_none(verdict.get("correction") or verdict.get("corrected") or None),
                "confidence": float(verdict["confidence"]) if isinstance(verdict.get("confidence"), (int, float))
                else None,
            })
        else:
            text = _response_text(texts[i]) if i < len(texts) else ""
            claims.append({"claim": text, "verdict": str(verdict), "evidence": [], "correction": None,
                           "confidence": None})
    return [{
        "prompt": item.get("prompt", ""), "response": _first_text(item, ("response", "text", "answer")),
        "claims": claims, "hallucinated": any(c["verdict"].lower() in _BAD_VERDICTS for c in claims),
        "overall": _str_or_none(result.get("overall")), "severity": _str_or_none(result.get("severity")),
        "agreement": rec.agreement, "item_id": rec.item_id,
    }]


# --- OCR -------------------------------------------------------------------------------------------

def box_type():
    return pa.struct([("points", pa.list_(pa.list_(pa.float64()))), ("text", pa.string()), ("label", pa.string())])
def ocr_schema():
    return pa.schema([
    ("file_name", pa.string()), ("text", pa.string()), ("boxes", pa.list_(box_type())), ("agreement", pa.float64()),
    ("item_id", pa.int64()), ("external_id", pa.string()),
])


def _points(region: dict) -> list[list[float]]:
    if isinstance(region.get("points"), list):
        return [[float(p[0]), float(p[1])] for p in region["points"] if isinstance(p, (list, tuple)) and len(p) >= 2]
    box = region.get("box") or region.get("bbox") or region
    try:
        x, y = float(box["x"]), float(box["y"])
        w, h = float(box.get("w", box.get("width"))), float(box.get("h", box.get("height")))
    except (KeyError, TypeError, ValueError):
        return []
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


def _storage_key(item: dict, keys: tuple[str, ...]) -> str:
    for key in keys:
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict) and isinstance(value.get("key"), str):
            return value["key"]
    return ""


def ocr(rec, ctx: LayoutContext) -> list[dict]:
    """Image file (packaged in the archive), consensus text, and boxes/polygons in pixel coordinates."""
    item = _json(rec.item_payload)
    result = _json(rec.result)
    key = _storage_key(item, ("image", "image_key", "file", "key"))
    if not key:
        return []
    regions = result.get("regions") or result.get("boxes") or []
    boxes = [{"points": _points(r), "text": str(r.get("text") or ""), "label": str(r.get("label") or r.get("field") or "")}
             for r in regions if isinstance(r, dict)]
    text = result.get("text")
    if not isinstance(text, str):
        fields = result.get("fields")
        text = orjson.dumps(fields).decode() if isinstance(fields, dict) else "\n".join(b["text"] for b in boxes)
    return [{"file_name": ctx.media_path(key, rec.item_id), "text": text, "boxes": boxes,
             "agreement": rec.agreement, "item_id": rec.item_id, "external_id": rec.external_id}]


# --- speech (Common Voice's columns) -------------------------------------------------------------

def speech_schema():
    return pa.schema([
    ("client_id", pa.string()), ("path", pa.string()), ("sentence", pa.string()), ("up_votes", pa.int64()),
    ("down_votes", pa.int64()), ("age", pa.string()), ("gender", pa.string()), ("accents", pa.string()),
    ("region", pa.string()), ("province", pa.string()), ("locale", pa.string()), ("item_id", pa.int64()),
])


def _age_band(birth_year) -> str:
    if not birth_year:
        return ""
    from contributors.models import ContributorProfile  # the one age-band rule

    return ContributorProfile(birth_year=birth_year).age_band


def _votes(result: dict) -> tuple[int, int]:
    up = result.get("up_votes", result.get("accept", result.get("valid")))
    down = result.get("down_votes", result.get("reject", result.get("invalid")))
    votes = result.get("votes")
    if isinstance(votes, dict) and up is None:
        up = votes.get("valid", votes.get("up", votes.get("accept", votes.get("yes"))))
        down = votes.get("invalid", votes.get("down", votes.get("reject", votes.get("no"))))
    return (int(up) if isinstance(up, (int, float)) else 0), (int(down) if isinstance(down, (int, float)) else 0)


def speech(rec, ctx: LayoutContext) -> list[dict]:
    """A validated recording: audio file, sentence, speaker pseudonym and demographics, up/down votes.

    Records are items of a validation campaign whose ``source_contributor`` is the speaker (the
    selector joins the speaker's profile into the record); the item's ``speaker`` snapshot (taken
    when the recording was made) fills in what the profile lacks.
    """
    item = _json(rec.item_payload)
    result = _json(rec.result)
    key = _storage_key(item, ("audio", "audio_key", "recording", "file", "key"))
    if not key:
        return []
    speaker = item.get("speaker") if isinstance(item.get("speaker"), dict) else {}
    up, down = _votes(result)
    return [{
        "client_id": rec.contributor or speaker.get("pseudonym") or "", "path": ctx.media_path(key, rec.item_id),
        "sentence": _first_text(item, ("sentence", "text", "prompt")), "up_votes": up, "down_votes": down,
        "age": _age_band(rec.birth_year) or speaker.get("age_band") or "",
        "gender": rec.gender or speaker.get("gender") or "",
        "accents": speaker.get("dialect") or item.get("dialect") or "",
        "region": rec.region or speaker.get("region") or "", "province": rec.province or speaker.get("province") or "",
        "locale": item.get("locale") or "vi", "item_id": rec.item_id,
    }]


# --- moderation ----------------------------------------------------------------------------------

def moderation_schema():
    return pa.schema([
    ("text", pa.string()), ("categories", pa.list_(pa.string())), ("severity", pa.string()),
    ("needs_escalation", pa.bool_()), ("agreement", pa.float64()), ("confidence", pa.float64()),
    ("item_id", pa.int64()), ("external_id", pa.string()),
])


def moderation(rec, ctx: LayoutContext) -> list[dict]:
    item = _json(rec.item_payload)
    result = _json(rec.result)
    categories = result.get("categories")
    if not isinstance(categories, list):
        return []
    severity = result.get("severity")
    return [{
        "text": item.get("text", ""), "categories": [str(c) for c in categories],
        "severity": orjson.dumps(severity).decode() if isinstance(severity, dict) else (severity or None),
        "needs_escalation": result.get("needs_escalation"), "agreement": rec.agreement,
        "confidence": rec.confidence, "item_id": rec.item_id, "external_id": rec.external_id,
    }]


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in [
        Layout("raw", UNIT_ANNOTATION, raw_schema, raw,
               description="Every annotation with its contributor pseudonym and a telemetry summary."),
        Layout("dpo", UNIT_ITEM, dpo_schema, dpo, description="prompt / chosen / rejected / margin (TRL DPO)."),
        Layout("reward", UNIT_ITEM, reward_schema, reward, description="prompt / response / score per response."),
        Layout("sft", UNIT_ANNOTATION, sft_schema, sft, description="Chat `messages` per human response (TRL SFT)."),
        Layout("hallucination", UNIT_ITEM, hallucination_schema, hallucination,
               description="Response with its claims, verdicts, evidence and corrections."),
        Layout("ocr", UNIT_ITEM, ocr_schema, ocr, has_media=True,
               description="Image file, consensus text and boxes/polygons."),
        Layout("speech", UNIT_ITEM, speech_schema, speech, group="speaker", has_media=True,
               description="Common Voice columns: audio path, sentence, speaker, demographics, votes."),
        Layout("moderation", UNIT_ITEM, moderation_schema, moderation,
               description="Text with its consensus policy categories."),
    ]
}


def layouts_for(*names: str) -> dict[str, Layout]:
    """What a task type puts in ``export_layouts``; ``raw`` is always included."""
    return {name: LAYOUTS[name] for name in ("raw", *names)}


def supported_layouts(task_type) -> dict[str, Layout]:
    """The layouts a campaign of this task type can be exported in."""
    declared = getattr(task_type, "export_layouts", None) or {}
    return {"raw": LAYOUTS["raw"], **{name: LAYOUTS[name] for name in declared if name in LAYOUTS}}
