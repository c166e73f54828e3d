"""Spans export layouts, one row per item from its consensus: character offsets (JSONL), CoNLL/IOB2 and the
Hugging Face token-classification layout over the item's tokens (pyvi words when the campaign snapped to
words, else syllables), audio segments in seconds, and RTTM.

IOB2 cannot carry nested or crossing spans: the longest of overlapping spans is kept (core.flat_spans);
the ``spans`` layout keeps them all. In ``token_classification`` the ``ner_tags`` are class ids of the
campaign's tag set (core.bio_names) and the Parquet file carries the Hugging Face features under the schema
metadata key ``huggingface``, so ``datasets`` loads ``ner_tags`` as ``Sequence(ClassLabel(names=...))``: the
columns are fixed for every campaign, only the metadata names the campaign's tags.
"""
from __future__ import annotations

import json

from exports.layouts import UNIT_ITEM, Layout, LayoutContext, json_field, pa, storage_key

from . import core, hf


def span_type():
    return pa.struct([("start", pa.int64()), ("end", pa.int64()), ("label", pa.string()), ("text", pa.string()),
                      ("support", pa.float64())])


def relation_type():
    return pa.struct([("from", pa.string()), ("to", pa.string()), ("label", pa.string())])


def spans_schema():
    return pa.schema([("text", pa.string()), ("spans", pa.list_(span_type())), ("relations", pa.list_(relation_type())),
                      ("agreement", pa.float64()), ("item_id", pa.int64()), ("external_id", pa.string())])


def _text_item(rec) -> tuple[dict, dict] | None:
    item, result = json_field(rec.item_payload), json_field(rec.result) or {}
    if not isinstance(item.get("text"), str):
        return None
    return item, result


def spans_rows(rec, ctx: LayoutContext) -> list[dict]:
    """Consensus spans in characters of the NFC text (end exclusive), with the relations between them."""
    found = _text_item(rec)
    if found is None:
        return []
    item, result = found
    text = item["text"]
    ids = {}
    spans = []
    for span in result.get("spans") or []:
        ids[span.get("id")] = f"{span['start']}:{span['end']}:{span['label']}"
        spans.append({"start": span["start"], "end": span["end"], "label": span["label"],
                      "text": text[span["start"]:span["end"]], "support": span.get("support")})
    relations = [{"from": ids.get(r["from"], r["from"]), "to": ids.get(r["to"], r["to"]), "label": r["label"]}
                 for r in result.get("relations") or []]
    return [{"text": text, "spans": spans, "relations": relations, "agreement": rec.agreement,
             "item_id": rec.item_id, "external_id": rec.external_id}]


def item_tokens(item: dict) -> tuple[list[list[int]], str]:
    if item.get("words"):
        return item["words"], "word"
    return item.get("syllables") or core.syllable_tokens(item["text"]), "syllable"


def conll_schema():
    return pa.schema([("tokens", pa.list_(pa.string())), ("ner_tags", pa.list_(pa.string())), ("conll", pa.string()),
                      ("token_level", pa.string()), ("item_id", pa.int64()), ("external_id", pa.string())])


def conll_rows(rec, ctx: LayoutContext) -> list[dict]:
    """IOB2 over the item's tokens (a word's syllables joined by "_"), and the same as CoNLL text."""
    found = _text_item(rec)
    if found is None:
        return []
    item, result = found
    tokens, level = item_tokens(item)
    spans = result.get("spans") or []
    return [{"tokens": [item["text"][s:e].replace(" ", "_") for s, e in tokens], "ner_tags": core.bio_tags(tokens, spans),
             "conll": core.to_conll(item["text"], spans, tokens), "token_level": level,
             "item_id": rec.item_id, "external_id": rec.external_id}]


def hf_schema():
    return pa.schema([("tokens", pa.list_(pa.string())), ("ner_tags", pa.list_(pa.int64())), ("item_id", pa.int64())])


def campaign_labels(config: dict) -> list[str]:
    return [label["value"] for label in config.get("labels") or []]


def hf_rows(rec, ctx: LayoutContext) -> list[dict]:
    """Tokens and their IOB2 tags as ClassLabel ids (O = 0, then B-/I- per label in the campaign's order)."""
    ids = ctx.__dict__.get("tag_ids")
    if ids is None:
        ids = ctx.__dict__["tag_ids"] = {t: i for i, t in enumerate(core.bio_names(campaign_labels(ctx.config)))}
    return [{"tokens": row["tokens"], "ner_tags": [ids[t] for t in row["ner_tags"]], "item_id": row["item_id"]}
            for row in conll_rows(rec, ctx)]


def hf_metadata(config: dict) -> dict[str, str]:
    """The Hugging Face features of the campaign's tag set, where ``datasets`` reads them in a Parquet file."""
    return {"huggingface": json.dumps({"info": {"features": hf.feature_dict(campaign_labels(config))}})}


def spacy_schema():
    return pa.schema([("doc", pa.string()), ("text", pa.string()), ("item_id", pa.int64())])


def spacy_rows(rec, ctx: LayoutContext) -> list[dict]:
    """One spaCy training document per item (``doc``: JSON text of spaCy's JSON training format, see
    core.spacy_doc); ``text`` and ``item_id`` beside it for reading the file without spaCy."""
    found = _text_item(rec)
    if found is None:
        return []
    item, result = found
    tokens, _level = item_tokens(item)
    doc = core.spacy_doc(item["text"], result.get("spans") or [], tokens, doc_id=rec.item_id)
    return [{"doc": json.dumps(doc, ensure_ascii=False), "text": item["text"], "item_id": rec.item_id}]


def segment_type():
    return pa.struct([("start", pa.float64()), ("end", pa.float64()), ("label", pa.string()),
                      ("transcript", pa.string()), ("support", pa.float64())])


def segments_schema():
    return pa.schema([("file_name", pa.string()), ("duration_s", pa.float64()), ("segments", pa.list_(segment_type())),
                      ("agreement", pa.float64()), ("item_id", pa.int64()), ("external_id", pa.string())])


def segments_rows(rec, ctx: LayoutContext) -> list[dict]:
    """The recording (packaged in the archive) with its consensus segments in seconds and their transcripts."""
    item, result = json_field(rec.item_payload), json_field(rec.result) or {}
    key = storage_key(item, ("audio",))
    if not key:
        return []
    segments = [{"start": s["start"], "end": s["end"], "label": s["label"], "transcript": s.get("transcript", ""),
                 "support": s.get("support")} for s in result.get("segments") or []]
    return [{"file_name": ctx.media_path(key, rec.item_id), "duration_s": item.get("duration_s"), "segments": segments,
             "agreement": rec.agreement, "item_id": rec.item_id, "external_id": rec.external_id}]


def rttm_schema():
    return pa.schema([("file_id", pa.string()), ("rttm", pa.string()), ("item_id", pa.int64())])


def rttm_rows(rec, ctx: LayoutContext) -> list[dict]:
    """RTTM lines per recording (file id: the item's external id, else item-<id>); every label a SPEAKER
    turn unless the campaign marked it as event or noise (stored on the segment as ``kind``)."""
    item, result = json_field(rec.item_payload), json_field(rec.result) or {}
    if not storage_key(item, ("audio",)):
        return []
    file_id = rec.external_id or f"item-{rec.item_id}"
    segments = result.get("segments") or []
    speakers = {s["label"] for s in segments if s.get("kind", "speaker") == "speaker"}
    return [{"file_id": file_id, "rttm": core.to_rttm(file_id, segments, speakers), "item_id": rec.item_id}]


SPANS = Layout("spans", UNIT_ITEM, spans_schema, spans_rows,
               description="Text with consensus spans (NFC character offsets, end exclusive) and relations.")
CONLL = Layout("conll", UNIT_ITEM, conll_schema, conll_rows,
               description="CoNLL/IOB2 tags over pyvi words or syllables, with the CoNLL text per item.")
HF_TOKENS = Layout("token_classification", UNIT_ITEM, hf_schema, hf_rows, schema_metadata=hf_metadata,
                   description="Hugging Face token classification: tokens and ner_tags (IOB2 ClassLabel ids; "
                               "the Parquet file names the campaign's tags).")
SPACY = Layout("spacy_json", UNIT_ITEM, spacy_schema, spacy_rows,
               description="spaCy JSON training format per item (paragraph raw text, tokens with BILUO ner, "
                           "entities as character offsets), for `spacy convert --converter json`.")
SEGMENTS = Layout("segments", UNIT_ITEM, segments_schema, segments_rows, has_media=True,
                  description="Recording with consensus segments (start/end seconds, label, transcript).")
RTTM = Layout("rttm", UNIT_ITEM, rttm_schema, rttm_rows, description="RTTM speaker/non-speech turns per recording.")
