"""Spans task type through the real submit API, consensus worker and export engine: Vietnamese text snapped
to syllables or pyvi words, relations, attributes, pre-annotation corrections, audio segments, and bad
input refused naming the field with nothing stored."""
from __future__ import annotations

import unicodedata
import zipfile

import orjson
import pytest
from django.test import Client
from django.urls import reverse

from annotations.models import Annotation
from consensus.engine import score_item_consensus
from core.schema import SchemaError
from exports.services import request_export, run_export
from task_types.spans import core
from task_types.spans.hf import feature_dict
from tasks.models import Item
from tasks.types import get_task_type

SPANS = get_task_type("spans")
TEXT = "Bà Nguyễn Thị Hương làm việc tại Bệnh viện Bạch Mai ở Hà Nội."
LABELS = [{"value": "PER"}, {"value": "LOC"}, {"value": "ORG"}]
CONFIG = {"labels": LABELS, "relation_labels": ["làm_việc_tại", "ở"],
          "attributes": [{"key": "uncertain", "type": "boolean"}, {"key": "kind", "type": "choice",
                                                                   "choices": ["công", "tư"]}]}


def span(piece: str, label: str, sid: str, text: str = TEXT, **extra) -> dict:
    start = text.index(piece)
    return {"id": sid, "start": start, "end": start + len(piece), "label": label, **extra}


GOOD = {"spans": [span("Nguyễn Thị Hương", "PER", "a"), span("Bệnh viện Bạch Mai", "ORG", "b"),
                  span("Hà Nội", "LOC", "c"), span("Bệnh viện Bạch Mai ở Hà Nội", "ORG", "d")],
        "relations": [{"from": "a", "to": "b", "label": "làm_việc_tại"}, {"from": "b", "to": "c", "label": "ở"}]}


def check(payload, config=None, item=None):
    config = SPANS.validate_config({**CONFIG, **(config or {})})
    item = item or SPANS.validate_item({"text": TEXT}, config)
    return SPANS.validate_annotation(payload, config=config, item_payload=item, view={})


def refused(payload, config=None, item=None) -> str:
    with pytest.raises(SchemaError) as exc:
        check(payload, config, item)
    return exc.value.field


def test_answers_snap_nest_relate_and_bad_input_names_the_field():
    out = check(GOOD)
    assert [s["text"] for s in out["spans"]][:2] == ["Nguyễn Thị Hương", "Bệnh viện Bạch Mai ở Hà Nội"]
    assert out["relations"][0] == {"from": "a", "to": "b", "label": "làm_việc_tại"}
    assert "corrections" not in out  # no model suggestions on this item
    # Attributes from the campaign's set, typed.
    assert check({"spans": [span("Hà Nội", "LOC", "x", attributes={"uncertain": True, "kind": "công"})]}
                 )["spans"][0]["attributes"] == {"uncertain": True, "kind": "công"}
    at = TEXT.index("Hương")
    bad = [
        ({"spans": [{"id": "a", "start": 55, "end": len(TEXT) + 3, "label": "LOC"}]}, "spans[0].end"),
        ({"spans": [{"id": "a", "start": 5, "end": 5, "label": "LOC"}]}, "spans[0].end"),
        ({"spans": [{"id": "a", "start": at + 1, "end": at + 5, "label": "PER"}]}, "spans[0].start"),  # mid-syllable
        ({"spans": [span("Hà Nội", "CITY", "a")]}, "spans[0].label"),
        ({"spans": [span("Hà Nội", "LOC", "a"), span("Bạch Mai", "PER", "a")]}, "spans[1].id"),
        ({"spans": [span("Hà Nội", "LOC", "a")], "relations": [{"from": "a", "to": "zz", "label": "ở"}]},
         "relations[0].to"),
        ({"spans": [span("Hà Nội", "LOC", "a"), span("Bạch Mai", "ORG", "b")],
          "relations": [{"from": "a", "to": "b", "label": "yêu"}]}, "relations[0].label"),
        ({"spans": [span("Hà Nội", "LOC", "a", attributes={"colour": "x"})]}, "spans[0].attributes.colour"),
        ({"spans": [span("Hà Nội", "LOC", "a", attributes={"kind": "khác"})]}, "spans[0].attributes.kind"),
    ]
    for payload, field in bad:
        assert refused(payload) == field, payload
    # Offsets counted on the NFD text point elsewhere in the NFC text: the span's text gives it away.
    nfd = unicodedata.normalize("NFD", TEXT)
    start = nfd.index(unicodedata.normalize("NFD", "Hà Nội"))
    assert refused({"spans": [{"id": "a", "start": start, "end": start + 7, "label": "LOC",
                               "text": "Hà Nội"}]}) in ("spans[0].start", "spans[0].end")
    # Nesting and crossing follow the campaign.
    assert refused(GOOD, {"allow_nested": False}).startswith("spans[")
    crossing = {"spans": [span("Bạch Mai ở", "ORG", "a"), span("ở Hà Nội", "LOC", "b")]}
    assert refused(crossing).startswith("spans[")
    assert len(check(crossing, {"allow_overlap": True})["spans"]) == 2


def test_word_snapping_uses_pyvi_words():
    config = SPANS.validate_config({**CONFIG, "snap": "word"})
    item = SPANS.validate_item({"text": TEXT}, config)
    words = [TEXT[s:e] for s, e in item["words"]]
    assert "Hà Nội" in words and "Nguyễn Thị Hương" in words
    assert check({"spans": [span("Hà Nội", "LOC", "a")]}, {"snap": "word"}, item)["spans"][0]["text"] == "Hà Nội"
    # "Nội" alone is a syllable but not a word here.
    assert refused({"spans": [span("Nội", "LOC", "a")]}, {"snap": "word"}, item) == "spans[0].start"


def test_pre_annotations_checked_on_import_and_corrections_kept():
    config = SPANS.validate_config(CONFIG)
    pre = {"spans": [span("Nguyễn Thị", "PER", "m1"), span("Bệnh viện Bạch Mai", "LOC", "m2"),
                     span("Hà Nội", "LOC", "m3")], "relations": [{"from": "m1", "to": "m2", "label": "làm_việc_tại"}]}
    item = SPANS.validate_item({"text": TEXT, "pre_annotations": pre, "model": "ner-v0"}, config)
    # The contributor widens m1, relabels m2, keeps m3, adds the nested ORG.
    answer = {"spans": [span("Nguyễn Thị Hương", "PER", "m1"), span("Bệnh viện Bạch Mai", "ORG", "m2"),
                        span("Hà Nội", "LOC", "m3"), span("Bệnh viện Bạch Mai ở Hà Nội", "ORG", "n1")]}
    fixed = SPANS.validate_annotation(answer, config=config, item_payload=item, view={})["corrections"]
    assert (fixed["kept"], fixed["moved"], fixed["relabelled"], fixed["added"], fixed["removed"]) == (1, 1, 1, 1, 0)
    # Bad pre-annotations are refused on import, naming the field.
    for bad, field in [
        ({"spans": [{"id": "m", "start": 0, "end": 999, "label": "PER"}]}, "pre_annotations.spans[0].end"),
        ({"spans": [span("Hà Nội", "LOC", "m")], "relations": [{"from": "m", "to": "q", "label": "ở"}]},
         "pre_annotations.relations[0].to"),
    ]:
        with pytest.raises(SchemaError) as exc:
            SPANS.validate_item({"text": TEXT, "pre_annotations": bad}, config)
        assert exc.value.field == field
    # A non-NFC text with offsets: which string do they count? Refused rather than guessed.
    with pytest.raises(SchemaError) as exc:
        SPANS.validate_item({"text": unicodedata.normalize("NFD", TEXT), "pre_annotations": pre}, config)
    assert exc.value.field == "pre_annotations"


def lease_and_submit(client, campaign, payload):
    lease = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()
    return client.post(reverse("assignment-submit", args=[lease["assignment"]["id"]]), {"payload": payload},
                       content_type="application/json")


def person(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_submitted_scored_and_exported_as_spans_conll_and_hf(make_campaign, make_contributor, settings, tmp_path):
    settings.MEDIA_ROOT, settings.EXPORT_ROOT = tmp_path / "media", tmp_path / "exports"
    campaign = make_campaign("spans", items=[{"payload": {"text": TEXT}, "external_id": "s1"}], overlap=3,
                             config=CONFIG)
    # A refused answer is refused whole, naming the field: nothing stored.
    client = person(make_contributor())
    bad = {"spans": [span("Hà Nội", "LOC", "a")], "relations": [{"from": "a", "to": "ghost", "label": "ở"}]}
    response = lease_and_submit(client, campaign, bad)
    assert response.status_code == 400 and response.json()["error"]["field"] == "relations[0].to"
    assert not Annotation.objects.filter(campaign=campaign).exists()
    assert lease_and_submit(client, campaign, GOOD).status_code == 201
    assert lease_and_submit(person(make_contributor()), campaign, GOOD).status_code == 201
    sloppy = {"spans": [span("Nguyễn Thị Hương", "PER", "a"), span("Hà Nội", "ORG", "c")], "relations": []}
    assert lease_and_submit(person(make_contributor()), campaign, sloppy).status_code == 201
    consensus = score_item_consensus(Item.objects.get(campaign=campaign).pk)
    kept = {(s["start"], s["end"], s["label"]) for s in consensus.result["spans"]}
    assert kept == {(s["start"], s["end"], s["label"]) for s in GOOD["spans"]}
    assert len(consensus.result["relations"]) == 2
    # Per label: everyone agrees on the person; the third answer called Hà Nội an ORG.
    assert consensus.result["label_agreement"]["PER"] == 1.0
    assert consensus.result["label_agreement"]["LOC"] < 1.0
    rows = {}
    for layout in ("spans", "conll", "token_classification"):
        export = run_export(request_export(campaign=campaign, fmt="jsonl", layout=layout, filters={}).pk)
        assert export.status == "succeeded", export.error
        with zipfile.ZipFile(settings.MEDIA_ROOT.parent / "exports" / export.path) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".jsonl"))
            rows[layout] = [orjson.loads(line) for line in archive.read(name).splitlines() if line.strip()]
    row = rows["spans"][0]
    assert {TEXT[s["start"]:s["end"]] for s in row["spans"]} == {s["text"] for s in row["spans"]}
    assert {r["label"] for r in row["relations"]} == {"làm_việc_tại", "ở"}
    # CoNLL: the exported text reads back into the flat spans it encodes (nested ORG keeps the longest).
    conll = rows["conll"][0]["conll"]
    _text, back = core.from_conll(conll, TEXT)
    assert {(s["start"], s["end"], s["label"]) for s in back} == {
        (s["start"], s["end"], s["label"]) for s in core.flat_spans(consensus.result["spans"])}
    # Hugging Face: ner_tags are ids of the campaign's tag set (the Parquet load: tests/test_spans_gaps.py).
    import datasets

    features = datasets.Features.from_dict(feature_dict([label["value"] for label in LABELS]))
    dataset = datasets.Dataset.from_list(rows["token_classification"], features=features)
    feature = dataset.features["ner_tags"].feature
    assert feature.names == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    first = dataset[0]
    assert [feature.int2str(t) for t in first["ner_tags"]][1:4] == ["B-PER", "I-PER", "I-PER"]


@pytest.mark.django_db
def test_audio_segments_validated_scored_and_exported_as_rttm(make_campaign, make_contributor, settings, tmp_path):
    settings.MEDIA_ROOT, settings.EXPORT_ROOT = tmp_path / "media", tmp_path / "exports"
    from task_types.spans.demo import demo_dialogue

    key, duration, model_segments = demo_dialogue("campaigns/spans/dialogue.ogg")
    config = {"media": "audio", "labels": [{"value": "A", "kind": "speaker"}, {"value": "B", "kind": "speaker"},
                                           {"value": "noise", "kind": "noise"}]}
    campaign = make_campaign("spans", items=[{"payload": {"audio": key, "pre_annotations": {
        "segments": [{**s, "label": "A" if s["label"] == "speaker_A" else "B"} for s in model_segments]}},
        "external_id": "call-1"}], overlap=2, config=config)
    item = Item.objects.get(campaign=campaign)
    assert abs(item.payload["duration_s"] - duration) < 0.1
    good = {"segments": [{"id": "g1", "start": 0.0, "end": 2.0, "label": "A", "transcript": "xin chào"},
                         {"id": "g2", "start": 2.1, "end": 2.8, "label": "noise"},
                         {"id": "g3", "start": 3.0, "end": duration, "label": "B", "transcript": "vâng ạ"}]}
    client = person(make_contributor())
    too_long = {"segments": [{"id": "g1", "start": 1.0, "end": duration + 5, "label": "A"}]}
    response = lease_and_submit(client, campaign, too_long)
    assert response.status_code == 400 and response.json()["error"]["field"] == "segments[0].end"
    assert lease_and_submit(client, campaign, good).status_code == 201
    stored = Annotation.objects.get(campaign=campaign).payload
    assert stored["corrections"]["added"] >= 1  # the noise segment the model missed
    nudged = {"segments": [{**s, "start": s["start"] + 0.05} for s in good["segments"]]}
    assert lease_and_submit(person(make_contributor()), campaign, nudged).status_code == 201
    consensus = score_item_consensus(item.pk)
    segments = consensus.result["segments"]
    assert [s["label"] for s in segments] == ["A", "noise", "B"]
    assert segments[0]["transcript"] == "xin chào"
    rows = {}
    for layout in ("rttm", "segments"):
        export = run_export(request_export(campaign=campaign, fmt="jsonl", layout=layout, filters={}).pk)
        assert export.status == "succeeded", export.error
        with zipfile.ZipFile(settings.MEDIA_ROOT.parent / "exports" / export.path) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".jsonl"))
            rows[layout] = orjson.loads(archive.read(name).splitlines()[0])
            if layout == "segments":  # the recording travels in the archive
                assert archive.read(rows[layout]["file_name"])[:4] == b"OggS"
    assert [(s["start"], s["label"]) for s in rows["segments"]["segments"]][0] == (0.0, "A")
    row = rows["rttm"]
    lines = row["rttm"].splitlines()
    file_id = f"item-{item.pk}"  # no external id on this item
    assert lines[0].startswith(f"SPEAKER {file_id} 1 0.") and lines[1].startswith(f"NON-SPEECH {file_id} 1 2.")
    assert [s["label"] for s in core.from_rttm(row["rttm"])[file_id]] == ["A", "noise", "B"]
