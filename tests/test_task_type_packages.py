"""A task type is one package: discovery, templates and static files from the package folder, and a
toy named-entity type (tests/fixtures/toy_types/ner_spans/, one folder) served end to end."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import get_template
from django.urls import reverse

from annotations.models import Consensus
from exports.layouts import LAYOUTS, supported_layouts
from task_types.discovery import type_folders
from tasks.types import SchemaError, all_task_types, get_task_type
from tests.helpers import wait_for

TOY_ROOT = "tests.fixtures.toy_types"
BUILT_IN = {"rlhf", "hallucination", "sft", "moderation", "ocr", "speech_recording", "speech_validation",
            "speech_transcription"}


@pytest.fixture
def toy_types(settings):
    """Enable the fixture root: the setting change alone discovers it; restoring the setting removes it."""
    settings.TASK_TYPE_PACKAGES = [*settings.TASK_TYPE_PACKAGES, TOY_ROOT]
    return get_task_type("ner_spans")


def test_every_built_in_type_is_discovered_from_its_package():
    types = {t.key: t for t in all_task_types()}
    assert BUILT_IN <= set(types)
    for key in BUILT_IN:
        task = types[key]
        assert type(task).__module__.startswith(f"task_types.{key}.")
        assert get_template(task.template).origin.name.endswith(f"task_types/{key}/{key}.html")
        for name in (*task.scripts, *task.styles):
            assert finders.find(name), name
        assert task.scripts[-1] == f"task_types/{key}/{key}.js"
    # Shared folders are served but are not types.
    assert {"media_common", "speech_common"} <= set(type_folders())
    assert "media_common" not in types and "speech_common" not in types


def test_the_finder_serves_assets_only():
    assert finders.find("task_types/ocr/ocr.css")
    assert not finders.find("task_types/ocr/task.py")
    assert not finders.find("task_types/ocr/ocr.html")
    assert not finders.find("task_types/../config/settings.py")
    assert not finders.find("task_types/nope/x.js")


def test_a_fixture_root_is_discovered_through_the_setting(settings):
    with pytest.raises(SchemaError):
        get_task_type("ner_spans")
    settings.TASK_TYPE_PACKAGES = [*settings.TASK_TYPE_PACKAGES, TOY_ROOT]
    toy = get_task_type("ner_spans")
    assert set(supported_layouts(toy)) == {"raw", "ner_spans"} and "ner_spans" in LAYOUTS
    assert finders.find("task_types/ner_spans/ner_spans.js").endswith("tests/fixtures/toy_types/ner_spans/ner_spans.js")
    assert "data-role=\"ner-spans\"" in get_template(toy.template).render({})
    settings.TASK_TYPE_PACKAGES = ["task_types"]
    with pytest.raises(SchemaError):
        get_task_type("ner_spans")
    assert BUILT_IN <= {t.key for t in all_task_types()}


@pytest.mark.django_db(transaction=True)
def test_toy_ner_type_end_to_end(toy_types, token_client, make_contributor, client, eager_tasks):
    api = token_client()
    res = api.post("/api/v1/campaigns/", {"name": "Thực thể có tên", "task_type": "ner_spans", "overlap": 2,
                                          "max_overlap": 2}, format="json")
    assert res.status_code == 201, res.json()
    campaign = res.json()
    assert campaign["config"] == {"labels": ["PER", "LOC", "ORG"]}
    texts = ["Bác Hồ sinh ra ở Nghệ An.", "Vinamilk có trụ sở tại Thành phố Hồ Chí Minh."]
    body = "\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in texts).encode()
    res = api.post(f"/api/v1/campaigns/{campaign['id']}/imports/",
                   {"file": SimpleUploadedFile("items.jsonl", body)}, format="multipart")
    assert res.status_code == 202, res.content
    job = wait_for(lambda: (lambda d: d if d["status"] in ("succeeded", "failed") else None)(
        api.get(f"/api/v1/imports/{res.json()['id']}/").json()), timeout=60)
    assert job["status"] == "succeeded" and job["imported"] == 2, job
    res = api.patch(f"/api/v1/campaigns/{campaign['id']}/", {"status": "active"}, format="json")
    assert res.status_code == 200, res.json()

    people = [make_contributor() for _ in range(2)]
    client.force_login(people[0])
    page = client.get(reverse("label-campaign", args=[campaign["id"]])).content.decode()
    assert 'data-role="ner-spans"' in page
    assert "task_types/ner_spans/ner_spans.js" in page and "task_types/ner_spans/ner_spans.css" in page

    def spans_for(text: str, who: int) -> list[dict]:
        if text.startswith("Bác"):
            return [{"start": 0, "end": 6, "label": "PER"}, {"start": 17, "end": 24, "label": "LOC"}]
        out = [{"start": 0, "end": 8, "label": "ORG"}]
        return out + ([{"start": 23, "end": 44, "label": "LOC"}] if who == 0 else [])

    for who, person in enumerate(people):
        client.force_login(person)
        for _ in texts:
            res = client.post(reverse("task-next", args=[campaign["id"]]), content_type="application/json")
            assert res.status_code == 200, res.content
            assignment = res.json()["assignment"]
            text = assignment["item"]["payload"]["text"]
            res = client.post(reverse("assignment-submit", args=[assignment["id"]]),
                              {"payload": {"spans": spans_for(text, who)}, "time_spent_ms": 5000, "telemetry": {}},
                              content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"ner-{who}-{assignment['id']}")
            assert res.status_code == 201, res.content
        bad = client.post(reverse("task-next", args=[campaign["id"]]), content_type="application/json").json()
        assert bad["assignment"] is None

    results = wait_for(lambda: (lambda rows: rows if len(rows) == 2 else None)(
        {c.item.payload["text"]: c.result for c in Consensus.objects.filter(item__campaign_id=campaign["id"])
         .select_related("item")}), timeout=60)
    assert results[texts[0]]["spans"] == [{"start": 0, "end": 6, "label": "PER"}, {"start": 17, "end": 24, "label": "LOC"}]
    assert results[texts[1]]["spans"] == [{"start": 0, "end": 8, "label": "ORG"}]  # one of two marked the LOC

    layouts = [x["name"] for x in api.get(f"/api/v1/campaigns/{campaign['id']}/export-layouts/").json()["layouts"]]
    assert sorted(layouts) == ["ner_spans", "raw"]
    res = api.post(f"/api/v1/campaigns/{campaign['id']}/exports/", {"format": "jsonl", "layout": "ner_spans"},
                   format="json")
    assert res.status_code == 202, res.json()
    export = wait_for(lambda: (lambda d: d if d["status"] in ("succeeded", "failed") else None)(
        api.get(f"/api/v1/exports/{res.json()['id']}/").json()), timeout=60)
    assert export["status"] == "succeeded", export.get("error")
    download = api.get(f"/api/v1/exports/{export['id']}/download/")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    rows = [json.loads(line) for name in archive.namelist() if name.endswith(".jsonl")
            for line in archive.read(name).decode().splitlines() if line]
    by_text = {r["text"]: r for r in rows}
    assert set(by_text) == set(texts)
    assert [(s["label"], s["text"]) for s in by_text[texts[0]]["spans"]] == [("PER", "Bác Hồ"), ("LOC", "Nghệ An")]
    assert [(s["label"], s["text"]) for s in by_text[texts[1]]["spans"]] == [("ORG", "Vinamilk")]
