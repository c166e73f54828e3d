"""Dataset exports end to end: request over the API, build on the export worker, download, load with
the real `datasets` and pandas libraries; bad input; organisation scoping; reproducibility."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.api_data import answer_items
from tests.helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TEXTS = ["Quán phở này ngon lắm", "Bấm vào link nhận quà", "Trời Hà Nội se lạnh", "Đồ ngu", "Mua 1 tặng 1",
         "Cà phê sữa đá", "Chúc ngủ ngon", "Tuyển cộng tác viên"]


@pytest.fixture
def moderation_data(make_campaign, make_contributor):
    campaign = make_campaign(items=[{"payload": {"text": t}} for t in TEXTS], overlap=3)
    people = [make_contributor(region=r) for r in ("north", "central", "south")]

    def label(i, c):
        if i == 3 and c == 2:
            return {"categories": ["safe"]}  # one dissent: agreement below 1 on item 3
        return {"categories": ["spam" if i % 2 else "safe"]}

    answer_items(campaign, people, label)
    return campaign


def run_export(client, campaign, body: dict) -> dict:
    res = client.post(f"/api/v1/campaigns/{campaign.pk}/exports/", body, format="json")
    assert res.status_code == 202, res.json()
    export_id = res.json()["id"]
    assert res["Location"] == f"/api/v1/exports/{export_id}/"
    return wait_for(lambda: (lambda d: d if d["status"] in ("succeeded", "failed") else None)(
        client.get(f"/api/v1/exports/{export_id}/").json()), timeout=60)


def download(client, export: dict) -> zipfile.ZipFile:
    res = client.get(f"/api/v1/exports/{export['id']}/download/")
    assert res.status_code == 200
    body = b"".join(res.streaming_content)
    assert hashlib.sha256(body).hexdigest() == export["sha256"] == res["X-Checksum-SHA256"]
    return zipfile.ZipFile(io.BytesIO(body))


def test_raw_jsonl_export_loads_with_datasets_and_pandas(token_client, moderation_data, tmp_path,
                                                         celery_worker_process):
    from datasets import load_dataset

    client = token_client()
    export = run_export(client, moderation_data, {"format": "jsonl", "layout": "raw", "license": "cc-by-4.0",
                                                  "split": {"train": 0.5, "validation": 0.25, "test": 0.25,
                                                            "seed": 7}})
    assert export["status"] == "succeeded", export["error"]
    assert export["rows_written"] == 24 and export["progress"] == 1.0
    archive = download(client, export)
    archive.extractall(tmp_path)
    names = set(archive.namelist())
    assert "README.md" in names
    data_files = {f["split"]: str(tmp_path / f["name"]) for f in export["files"] if f["rows"]}
    assert sum(f["rows"] for f in export["files"]) == 24
    ds = load_dataset("json", data_files=data_files)
    assert sum(len(ds[s]) for s in ds) == 24
    # All three annotations of an item land in the same split.
    item_splits = {}
    for split in ds:
        for row in ds[split]:
            item_splits.setdefault(row["item_id"], set()).add(split)
    assert all(len(s) == 1 for s in item_splits.values()) and len(item_splits) == 8
    frame = pd.concat(pd.read_json(path, lines=True) for path in data_files.values())
    assert set(frame["region"]) == {"north", "central", "south"}
    assert frame["contributor"].str.startswith("c_").all()  # pseudonyms, never e-mails
    assert (frame["pastes"] == 1).all() and (frame["pasted_chars"] == 5).all()
    first = json.loads(frame.sort_values("annotation_id").iloc[0]["item"])
    assert first["text"] == TEXTS[0]
    card = (tmp_path / "README.md").read_text()
    assert card.startswith("---\nlicense: cc-by-4.0\n")
    assert "Contributors by region" in card and "| north | 1 | 8 |" in card
    assert "## Provenance" in card and "mean agreement" in card


def test_moderation_layout_parquet_with_filters(token_client, moderation_data, tmp_path, celery_worker_process):
    from datasets import load_dataset

    client = token_client()
    export = run_export(client, moderation_data, {"format": "parquet", "layout": "moderation",
                                                  "finalised_only": True, "min_agreement": 0.9})
    assert export["status"] == "succeeded", export["error"]
    download(client, export).extractall(tmp_path)
    table = pq.read_table(tmp_path / "data/train.parquet")
    assert table.num_rows == 7  # item 3 (2 of 3 agree, agreement 1/3) is filtered out by min_agreement
    rows = table.to_pylist()
    assert {r["text"] for r in rows} == set(TEXTS) - {TEXTS[3]}
    assert all(r["categories"] == (["spam"] if TEXTS.index(r["text"]) % 2 else ["safe"]) for r in rows)
    ds = load_dataset("parquet", data_files={"train": str(tmp_path / "data/train.parquet")})["train"]
    assert ds.features["categories"].feature.dtype == "string"
    assert len(ds) == 7


def test_csv_export_and_reproducible_bytes(token_client, moderation_data, celery_worker_process):
    client = token_client()
    body = {"format": "csv", "layout": "raw", "split": {"train": 0.7, "test": 0.3, "seed": 3}}
    first, second = run_export(client, moderation_data, body), run_export(client, moderation_data, body)
    assert first["status"] == second["status"] == "succeeded"
    assert [f["sha256"] for f in first["files"]] == [f["sha256"] for f in second["files"]]
    archive = download(client, first)
    frame = pd.read_csv(io.BytesIO(archive.read("data/train.csv")))
    assert {"annotation_id", "item", "annotation", "contributor"} <= set(frame.columns)
    # A different seed moves items between splits.
    third = run_export(client, moderation_data, {**body, "split": {"train": 0.7, "test": 0.3, "seed": 4}})
    assert [f["sha256"] for f in third["files"]] != [f["sha256"] for f in first["files"]]


def test_incremental_since(token_client, moderation_data, celery_worker_process):
    from annotations.models import Annotation

    client = token_client()
    Annotation.objects.filter(campaign=moderation_data, item__payload__text=TEXTS[0]).update(
        created_at="2030-01-02T00:00:00+07:00")
    export = run_export(client, moderation_data, {"layout": "raw", "since": "2030-01-01"})
    assert export["rows_written"] == 3
