"""Spans formats: CoNLL/IOB2 round trip at syllable and pyvi-word level, RTTM round trip, and import of a
Label Studio span export (its documented JSON: ``labels`` and ``relation`` results)."""
from __future__ import annotations

import pytest

from core.schema import SchemaError
from task_types.spans import core
from task_types.spans.demo import SENTENCES
from tasks.types import get_task_type

SPANS = get_task_type("spans")


def spans_of(text: str, pieces: list[tuple[str, str]]) -> list[dict]:
    out, cursor = [], 0
    for piece, label in pieces:
        start = text.index(piece, cursor)
        out.append({"start": start, "end": start + len(piece), "label": label})
        cursor = start + len(piece)
    return out


CASES = [
    (SENTENCES[0], [("Nguyễn Thị Hương", "PER"), ("Bệnh viện Bạch Mai", "ORG"), ("Hà Nội", "LOC"), ("2015", "TIME")]),
    (SENTENCES[1], [("Trần Văn Đức", "PER"), ("Đà Nẵng", "LOC"), ("Tập đoàn Viettel", "ORG")]),
    # Two spans of one label side by side: B- starts the second.
    ("Hà Nội Hải Phòng là hai thành phố.", [("Hà Nội", "LOC"), ("Hải Phòng", "LOC")]),
]


@pytest.mark.parametrize("level", ["syllable", "word"])
def test_conll_round_trip_gives_the_same_spans(level):
    for text, pieces in CASES:
        spans = spans_of(text, pieces)
        tokens = core.syllable_tokens(text) if level == "syllable" else core.word_tokens(text)
        starts, ends = core.boundaries(tokens)
        if level == "word":  # a span must sit on word boundaries to survive word-level tags
            spans = [s for s in spans if s["start"] in starts and s["end"] in ends]
            assert spans
        conll = core.to_conll(text, spans, tokens)
        assert conll.splitlines()[0].split("\t")[1] in ("O", "B-PER", "B-LOC")
        _, back = core.from_conll(conll, text)
        assert back == spans, (level, text)
        # Without the original text the tokens joined by spaces give the same labelled strings.
        rebuilt, loose = core.from_conll(conll)
        assert [rebuilt[s["start"]:s["end"]] for s in loose] == [text[s["start"]:s["end"]] for s in spans]


def test_bio_keeps_the_longest_of_nested_spans():
    text = "Ủy ban nhân dân thành phố Huế họp."
    spans = spans_of(text, [("Ủy ban nhân dân thành phố Huế", "ORG")]) + spans_of(text, [("Huế", "LOC")])
    tags = core.bio_tags(core.syllable_tokens(text), spans)
    assert tags[:7] == ["B-ORG"] + ["I-ORG"] * 6 and "B-LOC" not in tags


def test_rttm_round_trip():
    segments = [{"start": 0.0, "end": 2.5, "label": "speaker_A"}, {"start": 2.5, "end": 3.1, "label": "noise"},
                {"start": 3.2, "end": 7.04, "label": "speaker B"}]
    rttm = core.to_rttm("call-7", segments, {"speaker_A", "speaker B"})
    assert rttm.splitlines()[1] == "NON-SPEECH call-7 1 2.500 0.600 <NA> <NA> noise <NA> <NA>"
    back = core.from_rttm(rttm)["call-7"]
    assert [(s["start"], s["end"]) for s in back] == [(0.0, 2.5), (2.5, 3.1), (3.2, 7.04)]
    assert back[2]["label"] == "speaker_B"  # RTTM names have no spaces


LABEL_STUDIO_EXPORT = [{
    "id": 12,
    "data": {"text": "Ông Trần Văn Đức sống ở Đà Nẵng."},
    "annotations": [{"id": 3, "completed_by": 1, "result": [
        {"id": "e1", "from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": 4, "end": 16, "text": "Trần Văn Đức", "labels": ["PER"]}},
        {"id": "e2", "from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": 24, "end": 31, "text": "Đà Nẵng", "labels": ["LOC"]}},
        {"from_id": "e2", "to_id": "e1", "type": "relation", "direction": "left", "labels": ["sống_ở"]},
    ]}],
}, {"id": 13, "data": {"text": "Trời mưa."}, "annotations": []}]


def test_label_studio_span_export_imports_as_pre_annotations():
    config = SPANS.validate_config({"labels": [{"value": "PER"}, {"value": "LOC"}], "relation_labels": ["sống_ở"]})
    items = [SPANS.validate_item(p, config) for p in core.labelstudio_items(LABEL_STUDIO_EXPORT)]
    pre = items[0]["pre_annotations"]
    assert [(s["text"], s["label"]) for s in pre["spans"]] == [("Trần Văn Đức", "PER"), ("Đà Nẵng", "LOC")]
    assert pre["relations"] == [{"from": "e1", "to": "e2", "label": "sống_ở"}]  # "left" read as e1 -> e2
    assert "pre_annotations" not in items[1]
    # A label outside the campaign's set is refused on import, naming the field.
    narrow = SPANS.validate_config({"labels": [{"value": "PER"}], "relation_labels": ["sống_ở"]})
    with pytest.raises(SchemaError) as exc:
        SPANS.validate_item(core.labelstudio_items(LABEL_STUDIO_EXPORT)[0], narrow)
    assert exc.value.field == "pre_annotations.spans[1].label"
