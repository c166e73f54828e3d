"""Export engine: every layout from real task types and real consensus, splits, media zip, atomic files,
and the PostgreSQL fast path giving the same records as the portable ORM path."""
from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.core.files.storage import default_storage
from django.db import connection

from exports import engine
from exports.layouts import LAYOUTS, supported_layouts
from exports.models import Export
from exports.selectors import _orm_records, _postgres_records
from exports.services import request_export, run_export
from tasks.models import Item
from tests.api_data import answer_items

pytestmark = pytest.mark.django_db


def build(campaign, layout: str, fmt: str = "jsonl", split: dict | None = None, filters: dict | None = None,
          django_capture_on_commit_callbacks=None) -> Export:
    export = request_export(campaign=campaign, fmt=fmt, layout=layout, split=split, filters=filters)
    return run_export(export.pk)  # what the export worker runs


def read_rows(export: Export) -> dict[str, list[dict]]:
    from exports.services import export_file_path

    archive = zipfile.ZipFile(export_file_path(export))
    out = {}
    for entry in export.files:
        data = archive.read(entry["name"])
        if export.format == "jsonl":
            out[entry["split"]] = [json.loads(line) for line in data.splitlines()]
        else:
            out[entry["split"]] = pq.read_table(io.BytesIO(data)).to_pylist()
    return out


def stored_audio(i: int) -> str:
    """A stored audio asset (the speech types check that an item's audio key was uploaded)."""
    from assets.models import MediaAsset
    from assets.services import store_media

    key = f"test-export/{uuid.uuid4().hex}-{i}.ogg"
    store_media(key=key, data=b"OggS" + bytes([i]) * 100, kind=MediaAsset.Kind.AUDIO, content_type="audio/ogg",
                info={"duration_s": 2.0, "sample_rate": 48000})
    return key


def test_every_task_type_declares_layouts_it_can_fill():
    from tasks.types import all_task_types

    for task in all_task_types():
        layouts = supported_layouts(task)
        assert "raw" in layouts
        assert all(name in LAYOUTS for name in layouts)
    by_type = {t.key: set(supported_layouts(t)) for t in all_task_types()}
    assert by_type["rlhf"] == {"raw", "dpo", "reward"}
    assert by_type["moderation"] == {"raw", "moderation"}


def test_dpo_and_reward_from_rlhf_consensus(make_campaign, make_contributor):
    items = [{"payload": {"prompt": f"Câu hỏi {i}?", "responses": [{"text": f"Tốt {i}"}, {"text": f"Kém {i}"}]}}
             for i in range(4)]
    campaign = make_campaign("rlhf", items=items, overlap=3, config={"mode": "pairwise", "rationale": "off"})
    people = [make_contributor() for _ in range(3)]
    # Response 0 wins on items 0-2; item 3 is a tie for everyone (no DPO pair).
    answer_items(campaign, people, lambda i, c: {"choice": "tie"} if i == 3 else {"choice": "A", "strength": 2})
    dpo = read_rows(build(campaign, "dpo", "parquet"))["train"]
    assert [(r["prompt"], r["chosen"], r["rejected"]) for r in dpo] == [
        ([{"role": "user", "content": f"Câu hỏi {i}?"}], [{"role": "assistant", "content": f"Tốt {i}"}],
         [{"role": "assistant", "content": f"Kém {i}"}]) for i in range(3)]
    assert all(r["margin"] > 0 for r in dpo)
    reward = read_rows(build(campaign, "reward"))["train"]
    assert len(reward) == 8
    first = [r for r in reward if r["item_id"] == dpo[0]["item_id"]]
    assert {r["response"]: r["rank"] for r in first} == {"Tốt 0": 1, "Kém 0": 2}
    assert first[0]["score"] > first[1]["score"]


def test_sft_messages(make_campaign, make_contributor):
    from datasets import load_dataset

    campaign = make_campaign("sft", items=[{"payload": {"instruction": "Viết lời chào buổi sáng."}}], overlap=2)
    people = [make_contributor() for _ in range(2)]
    text = "Chào buổi sáng, chúc bạn một ngày thật tốt lành và nhiều niềm vui số {}!"
    answer_items(campaign, people, lambda i, c: {"response": text.format(c)})
    export = build(campaign, "sft", "parquet")
    rows = read_rows(export)["train"]
    assert rows[0]["messages"] == [
        {"role": "user", "content": "Viết lời chào buổi sáng."},
        {"role": "assistant", "content": text.format(0)},
    ]
    from exports.services import export_file_path

    zipfile.ZipFile(export_file_path(export)).extractall(Path(export_file_path(export)).parent / "x")
    ds = load_dataset("parquet", data_files=str(Path(export_file_path(export)).parent / "x/data/train.parquet"))
    assert ds["train"][1]["messages"][1]["role"] == "assistant"


def test_hallucination_claims(make_campaign, make_contributor):
    payload = {"prompt": "Thủ đô?", "response": "Hà Nội là thủ đô. Hà Nội có 100 triệu dân.",
               "claims": ["Hà Nội là thủ đô.", "Hà Nội có 100 triệu dân."]}
    campaign = make_campaign("hallucination", items=[{"payload": payload}], overlap=2)
    people = [make_contributor() for _ in range(2)]
    def answer(i, c):
        source = {"evidence_url": "https://vi.wikipedia.org/wiki/H%C3%A0_N%E1%BB%99i",
                  "quote": "Hà Nội là thủ đô của nước Cộng hòa xã hội chủ nghĩa Việt Nam, dân số khoảng 8,5 triệu."}
        claims = [{"verdict": "supported", **source},
                  {"verdict": "contradicted", "correction": "Hà Nội có khoảng 8,5 triệu dân.", **source}]
        return {"claims": claims, "overall": "major_errors", "severity": "high"}

    answer_items(campaign, people, answer)
    [row] = read_rows(build(campaign, "hallucination", "parquet"))["train"]
    assert [c["verdict"] for c in row["claims"]] == ["supported", "contradicted"]
    assert row["claims"][0]["claim"] == "Hà Nội là thủ đô."
    assert row["claims"][1]["correction"] == "Hà Nội có khoảng 8,5 triệu dân."
    assert row["hallucinated"] is True and row["overall"] == "major_errors" and row["severity"] == "high"


def test_speech_layout_splits_by_speaker_and_packs_audio(make_campaign, make_contributor):
    speakers = [make_contributor(region=r) for r in ("north", "central", "south", "north", "south", "central")]
    keys = [stored_audio(i) for i in range(6)]
    items = [{"payload": {"audio": keys[i], "sentence": f"Câu số {i} để đọc."}} for i in range(12)
             if i < 6] + [{"payload": {"audio": keys[i % 6], "sentence": f"Câu lặp {i}."}} for i in range(6, 12)]
    campaign = make_campaign("speech_validation", items=items, overlap=2)
    for n, item in enumerate(Item.objects.filter(campaign=campaign).order_by("id")):
        item.source_contributor = speakers[n % 6]
        item.save(update_fields=["source_contributor"])
    validators = [make_contributor() for _ in range(2)]
    answer_items(campaign, validators, lambda i, c: {"verdict": "matches" if i % 4 else "does_not_match"})
    export = build(campaign, "speech", "jsonl", split={"train": 0.5, "validation": 0.25, "test": 0.25, "seed": 11})
    assert export.status == "succeeded", export.error
    assert export.split["by"] == "speaker"
    splits = read_rows(export)
    owner = {}
    for split, rows in splits.items():
        for row in rows:
            assert owner.setdefault(row["client_id"], split) == split  # no speaker spans two splits
            assert row["path"].startswith("media/") and row["region"] in ("north", "central", "south")
            assert row["up_votes"] + row["down_votes"] == 2 and row["age"]
    assert sum(len(r) for r in splits.values()) == 12
    from exports.services import export_file_path

    archive = zipfile.ZipFile(export_file_path(export))
    media = [n for n in archive.namelist() if n.startswith("media/")]
    assert len(media) == 6 and archive.read(media[0]).startswith(b"OggS")  # a file shared by two items: once
    card = archive.read("README.md").decode()
    assert "Speakers by region" in card and "no speaker appears in two splits" in card


def test_missing_media_is_reported_not_fatal(make_campaign, make_contributor):
    key = stored_audio(99)
    campaign = make_campaign("speech_validation", items=[{"payload": {"audio": key, "sentence": "Mất tệp."}}],
                             overlap=1)
    answer_items(campaign, [make_contributor()], lambda i, c: {"verdict": "matches"})
    default_storage.delete(key)  # the file disappeared from storage after the recording was validated
    export = build(campaign, "speech")
    assert export.status == "succeeded"
    assert export.stats["missing_media"] == [key]


def test_same_request_same_bytes_and_atomic_failure(make_campaign, make_contributor, tmp_path):
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(20)], overlap=2)
    answer_items(campaign, [make_contributor(), make_contributor()], lambda i, c: {"categories": ["safe"]})
    split = {"train": 0.6, "validation": 0.2, "test": 0.2, "seed": 5}
    a, b = build(campaign, "raw", "parquet", split=split), build(campaign, "raw", "parquet", split=split)
    assert [f["sha256"] for f in a.files] == [f["sha256"] for f in b.files]
    assert a.sha256 != b.sha256 or a.pk == b.pk  # the card differs (export id, time), the data does not

    # A failure while packaging leaves no file behind, not even the temporary one.
    def broken_open(key):
        raise RuntimeError("storage down")

    result = engine.BuildResult(files=[], media={"k": "media/1_k"})
    target = tmp_path / "out" / "x.zip"
    (tmp_path / "data").mkdir()
    with pytest.raises(RuntimeError):
        engine.package(tmp_path, result, "card", "jsonl", target, broken_open)
    assert not target.exists() and list((tmp_path / "out").iterdir()) == []


def test_split_plan_is_deterministic_and_close_to_ratios():
    plan = engine.SplitPlan({"train": 0.8, "validation": 0.1, "test": 0.1}, seed=42)
    first = [plan.split_of(i) for i in range(20000)]
    again = [engine.SplitPlan({"train": 0.8, "validation": 0.1, "test": 0.1}, seed=42).split_of(i)
             for i in range(20000)]
    assert first == again
    share = first.count("train") / len(first)
    assert 0.78 < share < 0.82
    other = [engine.SplitPlan({"train": 0.8, "validation": 0.1, "test": 0.1}, seed=43).split_of(i) for i in range(200)]
    assert other != first[:200]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares the PostgreSQL fast path with the ORM path")
@pytest.mark.parametrize("layout", ["raw", "moderation"])
def test_postgres_fast_path_matches_portable_path(make_campaign, make_contributor, layout):
    from django.db import transaction

    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(5)], overlap=2)
    answer_items(campaign, [make_contributor(region="south"), make_contributor()],
                 lambda i, c: {"categories": ["spam" if c else "safe"]},
                 telemetry={"schema": 1, "active_ms": 1234.6, "keystrokes": "bad", "focus_losses": 2,
                            "pastes": [{"length": 3}, {"length": "x"}, {"length": 4}]})
    for filters in ({"finalised_only": True, "since": "2020-01-01T00:00:00+00:00"}, {"min_agreement": 0.5}, {}):
        with transaction.atomic():
            fast = list(_postgres_records(campaign, LAYOUTS[layout], filters))
            portable = list(_orm_records(campaign, LAYOUTS[layout], filters))
        normalise = lambda recs: [r._replace(item_payload=json.loads(r.item_payload),  # noqa: E731
                                             payload=json.loads(r.payload) if r.payload else None,
                                             result=json.loads(r.result) if r.result else None) for r in recs]
        assert normalise(fast) == normalise(portable)
    if layout == "raw":
        assert fast[0].active_ms == 1235 and fast[0].keystrokes is None and fast[0].pastes == 3
        assert fast[0].pasted_chars == 7 and fast[0].created_at.endswith("Z")
