"""Spans: labelled spans of Vietnamese text with relations and attributes, or labelled time segments of a
recording with a transcript each (``media: "audio"``).

Text offsets count characters (code points) of the NFC text, end exclusive, and snap to syllables, or to
pyvi's words when the campaign says ``snap: "word"``; the token boundaries are computed once on import and
stored in the item (``syllables``/``words``), so the page snaps with the same boundaries the server checks.
A model's pre-annotations (item ``pre_annotations``) are shown for the contributor to correct; the server
computes what changed (never trusted from the page). Consensus matches spans across answers (exact or
overlap) and keeps those with more than half the trust weight (core.consensus_spans).
"""
from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from consensus.text import text_consensus
from exports.layouts import layouts_for
from task_types.media_common import KEY_PATTERN
from task_types.speech_common import audio_item
from tasks.types.base import Aggregate, DemoCampaign, SchemaError, TaskType

from . import core
from .layouts import CONLL, HF_TOKENS, RTTM, SEGMENTS, SPACY, SPANS

TIME_TOLERANCE = 0.05  # seconds a segment may end past the recording (rounding on the page)
_id = {"type": "string", "minLength": 1, "maxLength": 40}
_label = {"type": "string", "minLength": 1, "maxLength": 60}
SPAN_SCHEMA = {
    "type": "object", "required": ["id", "start", "end", "label"], "additionalProperties": False,
    "properties": {
        "id": _id, "start": {"type": "integer", "minimum": 0}, "end": {"type": "integer", "minimum": 0},
        "label": _label, "text": {"type": "string", "maxLength": 20000},
        "attributes": {"type": "object", "maxProperties": 20},
    },
}
SEGMENT_SCHEMA = {
    "type": "object", "required": ["id", "start", "end", "label"], "additionalProperties": False,
    "properties": {
        "id": _id, "start": {"type": "number", "minimum": 0, "maximum": 86400},
        "end": {"type": "number", "minimum": 0, "maximum": 86400}, "label": _label,
        "transcript": {"type": "string", "maxLength": 5000}, "attributes": {"type": "object", "maxProperties": 20},
    },
}
RELATION_SCHEMA = {
    "type": "object", "required": ["from", "to", "label"], "additionalProperties": False,
    "properties": {"from": _id, "to": _id, "label": _label},
}


class Spans(TaskType):
    key = "spans"
    label = _("Spans: label entities, relations or audio segments")
    template = "task_types/spans/spans.html"
    scripts = ("task_types/spans/vendor/wavesurfer.min.js", "task_types/spans/vendor/regions.min.js",
               "task_types/spans/spans.js")
    styles = ("task_types/spans/spans.css",)
    export_layouts = layouts_for(SPANS, CONLL, HF_TOKENS, SPACY, SEGMENTS, RTTM)
    free_text_fields = []  # labels and offsets: no hand-written prose to score (segment transcripts copy speech)
    copies_by_design = True

    config_schema = {
        "type": "object", "required": ["labels"], "additionalProperties": False,
        "properties": {
            "media": {"enum": ["text", "audio"]},
            "labels": {"type": "array", "minItems": 1, "maxItems": 30, "items": {
                "type": "object", "required": ["value"], "additionalProperties": False,
                "properties": {"value": {**_label, "pattern": r"^[A-Za-z0-9_.:-]+$"},
                               "name": {"type": "string", "maxLength": 80},
                               "kind": {"enum": ["entity", "speaker", "event", "noise"]}}}},
            "relation_labels": {"type": "array", "maxItems": 20, "items": _label},
            "attributes": {"type": "array", "maxItems": 10, "items": {
                "type": "object", "required": ["key", "type"], "additionalProperties": False,
                "properties": {"key": {"type": "string", "pattern": r"^[a-z0-9_]{1,40}$"},
                               "name": {"type": "string", "maxLength": 80},
                               "type": {"enum": ["boolean", "choice"]},
                               "choices": {"type": "array", "maxItems": 20, "items": _label}}}},
            "snap": {"enum": ["syllable", "word"]},
            "allow_nested": {"type": "boolean"},
            "allow_overlap": {"type": "boolean"},
            "match": {"enum": ["exact", "overlap"]},
            "match_threshold": {"type": "number", "minimum": 0.1, "maximum": 1},
            "min_spans": {"type": "integer", "minimum": 0, "maximum": 500},
            "max_spans": {"type": "integer", "minimum": 1, "maximum": 500},
            "require_transcript": {"type": "boolean"},
            "language": {"enum": ["vi", "en", "any"]},
        },
    }

    def default_config(self) -> dict:
        return {"media": "text", "labels": [{"value": "PER", "name": "Người"}, {"value": "LOC", "name": "Địa điểm"},
                                            {"value": "ORG", "name": "Tổ chức"}],
                "relation_labels": [], "attributes": [], "snap": "syllable", "allow_nested": True,
                "allow_overlap": False, "match": "exact", "match_threshold": 0.5, "min_spans": 0, "max_spans": 200,
                "require_transcript": False, "language": "vi"}

    def validate_config(self, config: dict) -> dict:
        config = super().validate_config(config)
        values = [label["value"] for label in config["labels"]]
        if len(set(values)) != len(values):
            raise SchemaError("labels", gettext("Label values must be unique."))
        keys = [a["key"] for a in config["attributes"]]
        if len(set(keys)) != len(keys):
            raise SchemaError("attributes", gettext("Attribute keys must be unique."))
        for i, attribute in enumerate(config["attributes"]):
            if attribute["type"] == "choice" and not attribute.get("choices"):
                raise SchemaError(f"attributes[{i}].choices", gettext("A choice attribute needs its choices."))
        if config["media"] == "audio":
            config["match"] = "overlap"  # times in seconds never match exactly
        return config

    # --- items -----------------------------------------------------------------------------------------------
    def item_schema(self, config: dict) -> dict:
        if config["media"] == "audio":
            return {"type": "object", "required": ["audio"], "additionalProperties": False, "properties": {
                "audio": {"type": "string", "pattern": KEY_PATTERN, "maxLength": 250},
                "duration_s": {"type": ["number", "null"]}, "context": {"type": "string", "maxLength": 2000},
                "model": {"type": "string", "maxLength": 200}, "source": {"type": "string", "maxLength": 500},
                "pre_annotations": {"type": "object", "additionalProperties": False, "properties": {
                    "segments": {"type": "array", "maxItems": 500, "items": SEGMENT_SCHEMA}}},
            }}
        tokens = {"type": "array", "items": {"type": "array"}}
        return {"type": "object", "required": ["text"], "additionalProperties": False, "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 20000},
            "model": {"type": "string", "maxLength": 200}, "source": {"type": "string", "maxLength": 500},
            "syllables": tokens, "words": tokens,  # computed on import; whatever an importer sends is replaced
            "pre_annotations": {"type": "object", "additionalProperties": False, "properties": {
                "spans": {"type": "array", "maxItems": 500, "items": SPAN_SCHEMA},
                "relations": {"type": "array", "maxItems": 500, "items": RELATION_SCHEMA}}},
        }}

    def validate_item(self, payload, config: dict) -> dict:
        raw_text = payload.get("text") if isinstance(payload, dict) else None
        payload = super().validate_item(payload, config)
        pre = payload.get("pre_annotations") or {}
        if config["media"] == "audio":
            payload = audio_item(payload)
            if pre:
                payload["pre_annotations"] = {"segments": self._check_segments(
                    pre.get("segments", []), config, payload.get("duration_s"), "pre_annotations.segments",
                    labels_only=False)}
            return payload
        if pre and isinstance(raw_text, str) and raw_text != payload["text"]:
            raise SchemaError("pre_annotations", gettext(
                "The text is not in Unicode NFC (or holds invisible characters), so the pre-annotations' "
                "offsets cannot be trusted: normalise the text to NFC and count offsets on it."))
        payload["syllables"] = core.syllable_tokens(payload["text"])
        if config["snap"] == "word":
            payload["words"] = core.word_tokens(payload["text"])
        else:
            payload.pop("words", None)
        if pre:
            spans = self._check_spans(pre.get("spans", []), payload, config, "pre_annotations.spans", snap=False)
            relations = self._check_relations(pre.get("relations", []), spans, config, "pre_annotations.relations")
            payload["pre_annotations"] = {"spans": spans, "relations": relations}
        return payload

    def media_keys(self, item_payload: dict) -> dict[str, str]:
        return {"audio": item_payload["audio"]} if "audio" in item_payload else {}

    # --- answers ---------------------------------------------------------------------------------------------
    def annotation_schema(self, config: dict) -> dict:
        if config["media"] == "audio":
            return {"type": "object", "required": ["segments"], "additionalProperties": False, "properties": {
                "segments": {"type": "array", "maxItems": config["max_spans"], "items": SEGMENT_SCHEMA}}}
        return {"type": "object", "required": ["spans"], "additionalProperties": False, "properties": {
            "spans": {"type": "array", "maxItems": config["max_spans"], "items": SPAN_SCHEMA},
            "relations": {"type": "array", "maxItems": 500, "items": RELATION_SCHEMA}}}

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        if config["media"] == "audio":
            segments = self._check_segments(payload["segments"], config, item_payload.get("duration_s"), "segments",
                                            labels_only=False)
            self._check_count(segments, "segments", config)
            out = {"segments": segments}
            pre = (item_payload.get("pre_annotations") or {}).get("segments")
            if pre is not None:
                out["corrections"] = corrections(pre, segments, mode="overlap", threshold=config["match_threshold"])
            return out
        spans = self._check_spans(payload["spans"], item_payload, config, "spans", snap=True)
        self._check_count(spans, "spans", config)
        relations = self._check_relations(payload.get("relations", []), spans, config, "relations")
        out = {"spans": spans, "relations": relations}
        pre = (item_payload.get("pre_annotations") or {}).get("spans")
        if pre is not None:
            out["corrections"] = corrections(pre, spans, mode="exact")
        return out

    def _check_count(self, spans: list, field: str, config: dict) -> None:
        if len(spans) < config["min_spans"]:
            raise SchemaError(field, gettext("Mark at least %(n)d span(s).") % {"n": config["min_spans"]})

    def _check_attributes(self, attributes: dict, config: dict, field: str) -> dict:
        specs = {a["key"]: a for a in config["attributes"]}
        for key, value in attributes.items():
            spec = specs.get(key)
            if spec is None:
                raise SchemaError(f"{field}.{key}", gettext("This campaign has no attribute %(key)s.") % {"key": key})
            ok = isinstance(value, bool) if spec["type"] == "boolean" else value in spec["choices"]
            if not ok:
                raise SchemaError(f"{field}.{key}", gettext("Not a valid value for this attribute."))
        return attributes

    def _check_spans(self, spans: list[dict], item: dict, config: dict, field: str, *, snap: bool) -> list[dict]:
        """Offsets inside the NFC text and on token boundaries, labels from the set, nesting as allowed."""
        text = item["text"]
        labels = {label["value"] for label in config["labels"]}
        starts, ends = core.boundaries(item.get("words") if config["snap"] == "word" and item.get("words")
                                       else item.get("syllables") or core.syllable_tokens(text))
        unit = gettext("word") if config["snap"] == "word" else gettext("syllable")
        out, ids, seen = [], set(), set()
        for i, span in enumerate(spans):
            where = f"{field}[{i}]"
            start, end = span["start"], span["end"]
            if end > len(text) or start >= end:
                raise SchemaError(f"{where}.end", gettext(
                    "The span %(start)d–%(end)d is outside the text (%(n)d characters) or empty.") % {
                    "start": start, "end": end, "n": len(text)})
            if "text" in span and span["text"] != text[start:end]:
                raise SchemaError(f"{where}.start", gettext(
                    "The offsets do not point at “%(text)s”: count offsets in characters of the NFC text.") % {
                    "text": span["text"][:60]})
            if snap and (start not in starts or end not in ends):
                raise SchemaError(f"{where}.start" if start not in starts else f"{where}.end", gettext(
                    "A span must start and end on a %(unit)s boundary.") % {"unit": unit})
            if span["label"] not in labels:
                raise SchemaError(f"{where}.label", gettext("Unknown label %(label)s.") % {"label": span["label"]})
            if span["id"] in ids:
                raise SchemaError(f"{where}.id", gettext("Span ids must be unique."))
            if (start, end, span["label"]) in seen:
                raise SchemaError(where, gettext("The same span is marked twice with the same label."))
            ids.add(span["id"])
            seen.add((start, end, span["label"]))
            clean = {"id": span["id"], "start": start, "end": end, "label": span["label"], "text": text[start:end]}
            if span.get("attributes"):
                clean["attributes"] = self._check_attributes(span["attributes"], config, f"{where}.attributes")
            out.append(clean)
        self._check_layering(out, config, field)
        return sorted(out, key=lambda s: (s["start"], -s["end"]))

    def _check_layering(self, spans: list[dict], config: dict, field: str) -> None:
        ordered = sorted(enumerate(spans), key=lambda p: (p[1]["start"], -p[1]["end"]))
        for x, (i, a) in enumerate(ordered):
            for j, b in ordered[x + 1:]:
                if b["start"] >= a["end"]:
                    break
                nested = b["end"] <= a["end"]
                if nested and not config["allow_nested"]:
                    raise SchemaError(f"{field}[{max(i, j)}]", gettext(
                        "Spans may not be nested in this campaign (“%(a)s” contains “%(b)s”).") % {
                        "a": a["text"][:40], "b": b["text"][:40]})
                if not nested and not config["allow_overlap"]:
                    raise SchemaError(f"{field}[{max(i, j)}]", gettext(
                        "Spans may not overlap in this campaign (“%(a)s” and “%(b)s”).") % {
                        "a": a["text"][:40], "b": b["text"][:40]})

    def _check_relations(self, relations: list[dict], spans: list[dict], config: dict, field: str) -> list[dict]:
        ids = {s["id"] for s in spans}
        allowed = set(config["relation_labels"])
        out, seen = [], set()
        for i, rel in enumerate(relations):
            for end in ("from", "to"):
                if rel[end] not in ids:
                    raise SchemaError(f"{field}[{i}].{end}", gettext("No span has the id %(id)s.") % {"id": rel[end]})
            if rel["from"] == rel["to"]:
                raise SchemaError(f"{field}[{i}].to", gettext("A relation links two different spans."))
            if rel["label"] not in allowed:
                raise SchemaError(f"{field}[{i}].label", gettext("Unknown relation %(label)s.") % {"label": rel["label"]})
            key = (rel["from"], rel["to"], rel["label"])
            if key in seen:
                raise SchemaError(f"{field}[{i}]", gettext("The same relation is drawn twice."))
            seen.add(key)
            out.append({"from": rel["from"], "to": rel["to"], "label": rel["label"]})
        return out

    def _check_segments(self, segments: list[dict], config: dict, duration, field: str, *,
                        labels_only: bool) -> list[dict]:
        labels = {label["value"] for label in config["labels"]}
        out, ids = [], set()
        for i, seg in enumerate(segments):
            where = f"{field}[{i}]"
            start, end = round(float(seg["start"]), 3), round(float(seg["end"]), 3)
            if start >= end or (duration and end > float(duration) + TIME_TOLERANCE):
                raise SchemaError(f"{where}.end", gettext(
                    "The segment %(start).2f–%(end).2f s is outside the recording (%(n).2f s) or empty.") % {
                    "start": start, "end": end, "n": float(duration or 0)})
            if seg["label"] not in labels:
                raise SchemaError(f"{where}.label", gettext("Unknown label %(label)s.") % {"label": seg["label"]})
            if seg["id"] in ids:
                raise SchemaError(f"{where}.id", gettext("Segment ids must be unique."))
            ids.add(seg["id"])
            transcript = " ".join(seg.get("transcript", "").split())
            if config["require_transcript"] and not transcript and not labels_only:
                raise SchemaError(f"{where}.transcript", gettext("Type what is said in this segment."))
            clean = {"id": seg["id"], "start": start, "end": min(end, float(duration)) if duration else end,
                     "label": seg["label"], "transcript": transcript}
            if seg.get("attributes"):
                clean["attributes"] = self._check_attributes(seg["attributes"], config, f"{where}.attributes")
            out.append(clean)
        out.sort(key=lambda s: (s["start"], s["end"]))
        if not config["allow_overlap"]:
            for a, b in zip(out, out[1:], strict=False):
                if b["start"] < a["end"] - 1e-6:
                    raise SchemaError(field, gettext(
                        "Segments may not overlap in this campaign (%(a).2f s and %(b).2f s).") % {
                        "a": a["start"], "b": b["start"]})
        return out

    # --- consensus ------------------------------------------------------------------------------------------
    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        return self._aggregate(answers, config=config, weights=weights)

    def campaign_aggregates(self, answers_by_item, weights_by_item, *, config: dict):
        """Text spans: each matched span group's label by Dawid-Skene over the campaign (campaign_labels.py);
        audio keeps the per-item vote (None)."""
        if config["media"] == "audio":
            return None
        from .campaign_labels import decide_group_labels

        labels = [label["value"] for label in config["labels"]]
        per_item = [[(w, a.get("spans") or []) for w, a in answers] for answers in answers_by_item]
        decided = decide_group_labels(per_item, labels, mode=config["match"], threshold=config["match_threshold"])
        out = []
        for answers, weights, choice in zip(answers_by_item, weights_by_item, decided, strict=True):
            aggregate = self._aggregate([a for _w, a in answers], config=config, weights=weights, decided=choice)
            aggregate.method = "span_dawid_skene"
            out.append(aggregate)
        return out

    def _aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None,
                   decided: list | None = None) -> Aggregate:
        mode, threshold = config["match"], config["match_threshold"]
        if config["media"] == "audio":
            lists = [a.get("segments", []) for a in answers]
            kept = core.consensus_spans(lists, weights, mode="overlap", threshold=threshold, continuous=True)
            for seg in kept:  # the transcript of a kept segment: consensus of the transcripts matched to it
                texts, text_weights = [], []
                for ai, segments in enumerate(lists):
                    pairs = core.match_spans([seg], segments, mode="overlap", threshold=threshold, same_label=False)
                    if pairs:
                        texts.append(segments[pairs[0][1]].get("transcript", ""))
                        text_weights.append(weights[ai] if weights else 1.0)
                seg["transcript"] = text_consensus(texts, text_weights)[0] if texts else ""
            kinds = {label["value"]: label.get("kind", "speaker") for label in config["labels"]}
            for seg in kept:
                seg["kind"] = kinds.get(seg["label"], "speaker")  # RTTM: SPEAKER turns or NON-SPEECH
            agreement = core.pairwise_agreement(lists, mode="overlap", threshold=threshold)
            result = {"segments": kept, "label_agreement": core.per_label_agreement(
                lists, mode="overlap", threshold=threshold)}
        else:
            lists = [a.get("spans", []) for a in answers]
            kept = core.consensus_spans(lists, weights, mode=mode, threshold=threshold, decided=decided)
            relations = core.consensus_relations(answers, kept, weights, mode=mode, threshold=threshold)
            agreement = core.pairwise_agreement(lists, mode=mode, threshold=threshold)
            result = {"spans": kept, "relations": relations,
                      "label_agreement": core.per_label_agreement(lists, mode=mode, threshold=threshold)}
        confidence = min((s["support"] for s in kept), default=agreement)
        return Aggregate(result=result, confidence=round(confidence, 4), agreement=round(agreement, 4),
                         method=f"span_{mode}_weighted_vote")

    def _pieces(self, answer: dict, config: dict) -> list[dict]:
        return answer.get("segments" if config["media"] == "audio" else "spans") or []

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        """Span F1 against the gold answer of at least 0.8 (with the campaign's matching)."""
        return core.span_f1(self._pieces(answer, config), self._pieces(gold, config), mode=config["match"],
                            threshold=config["match_threshold"]) >= 0.8

    def agrees_with_consensus(self, answer: dict, result: dict, *, config: dict) -> bool | None:
        return self.is_correct(answer, result, config=config)

    # --- demo -------------------------------------------------------------------------------------------------
    def demo_qualification(self) -> DemoCampaign:
        """The demo's first sentence without the model's suggestions: a person, an organisation, a place, a time."""
        spec = self.demo()[0]
        text = "Bà Nguyễn Thị Hương làm việc tại Bệnh viện Bạch Mai ở Hà Nội từ năm 2015."

        def span(n: int, phrase: str, label: str) -> dict:
            start = text.index(phrase)
            return {"id": f"g{n}", "start": start, "end": start + len(phrase), "label": label}

        gold = {"spans": [span(1, "Nguyễn Thị Hương", "PER"), span(2, "Bệnh viện Bạch Mai", "ORG"),
                          span(3, "Hà Nội", "LOC"), span(4, "năm 2015", "TIME")], "relations": []}
        return DemoCampaign(name=spec.name, config=spec.config, instructions=spec.instructions,
                            items=[{"payload": {"text": text, "source": "demo"}, "gold_answer": gold}])


    def demo(self) -> list[DemoCampaign]:
        from .demo import demo_campaigns  # the audio demo synthesises a clip: only when seeding

        return [DemoCampaign(**c) for c in demo_campaigns(self.default_config())]


def corrections(pre: list[dict], final: list[dict], *, mode: str, threshold: float = 0.5) -> dict:
    """What the contributor changed in the model's pre-annotations: spans kept as they were, relabelled,
    moved (boundaries changed), removed and added, with the model's and the final span of each change."""
    exact = core.match_spans(pre, final, mode="exact")
    pre_left = [i for i in range(len(pre)) if i not in {p for p, _f in exact}]
    final_left = [j for j in range(len(final)) if j not in {f for _p, f in exact}]
    loose = core.match_spans([pre[i] for i in pre_left], [final[j] for j in final_left], mode="overlap",
                             threshold=threshold if mode == "overlap" else 0.01, same_label=False)
    changes = []
    for pi, fj in loose:
        before, after = pre[pre_left[pi]], final[final_left[fj]]
        kind = "relabelled" if (before["start"], before["end"]) == (after["start"], after["end"]) else "moved"
        changes.append({"change": kind, "model": _brief(before), "final": _brief(after)})
    matched_pre = {pre_left[pi] for pi, _ in loose}
    matched_final = {final_left[fj] for _, fj in loose}
    changes += [{"change": "removed", "model": _brief(pre[i])} for i in pre_left if i not in matched_pre]
    changes += [{"change": "added", "final": _brief(final[j])} for j in final_left if j not in matched_final]
    counts = {k: sum(c["change"] == k for c in changes) for k in ("relabelled", "moved", "removed", "added")}
    return {"kept": len(exact), **counts, "changes": changes}


def _brief(span: dict) -> dict:
    return {k: span[k] for k in ("start", "end", "label") if k in span}
