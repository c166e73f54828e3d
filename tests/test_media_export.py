"""The whole speech pipeline to the AI team's archive: record, validate (accepted), export with the audio file."""
from __future__ import annotations

import io
import zipfile

import orjson
import pytest
from django.test import Client
from django.urls import reverse

from consensus.engine import score_item_consensus
from exports.services import request_export, run_export
from tasks.models import Item
from tests import media_samples as ms


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORT_ROOT = tmp_path / "exports"
    return settings.MEDIA_ROOT


def person(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def lease_and_submit(client, campaign, payload_for) -> dict:
    assignment = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()
    assignment = assignment["assignment"]
    response = client.post(reverse("assignment-submit", args=[assignment["id"]]), {"payload": payload_for(assignment)},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    return assignment


@pytest.mark.django_db
def test_recorded_validated_and_exported_with_its_audio(media_root, make_campaign, make_contributor):
    sentence = "Chuyến tàu từ Huế vào Đà Nẵng"
    recording = make_campaign("speech_recording", items=[{"payload": {"sentence": sentence}}], overlap=1)
    validation = make_campaign("speech_validation", items=[], overlap=2,
                               config={"source_campaign": recording.pk, "accept_after": 2, "reject_after": 2})
    speaker = make_contributor(region="central")
    client = person(speaker)
    audio = ms.webm_opus(ms.voice(3.0))

    def upload(assignment):
        response = client.post(reverse("assets:recording-upload", args=[assignment["id"]]),
                               {"audio": io.BytesIO(audio)}, format="multipart")
        return {"audio": response.json()["key"]}

    lease_and_submit(client, recording, upload)
    item = Item.objects.get(campaign=validation)
    for _ in range(2):
        lease_and_submit(person(make_contributor()), validation, lambda a: {"verdict": "matches"})
    consensus = score_item_consensus(item.pk)
    assert consensus.state == "finalised" and consensus.result["decision"] == "accepted"

    export = request_export(campaign=validation, fmt="jsonl", layout="speech", filters={"finalised_only": True})
    export = run_export(export.pk)
    assert export.status == "succeeded", export.error
    assert export.stats["media_files"] == 1 and export.stats["missing_media_count"] == 0
    with zipfile.ZipFile(media_root.parent / "exports" / export.path) as archive:
        names = archive.namelist()
        data_name = next(n for n in names if n.endswith(".jsonl"))
        rows = [orjson.loads(line) for line in archive.read(data_name).splitlines() if line.strip()]
        assert len(rows) == 1
        row = rows[0]
        assert row["sentence"] == sentence and row["up_votes"] == 2 and row["down_votes"] == 0
        assert row["region"] == "central" and row["path"].startswith("media/")
        assert archive.read(row["path"]) == audio  # the very bytes the speaker uploaded
    # The recording campaign's coverage counts the accepted reading for the speaker's region.
    from review.selectors import recording_coverage

    coverage = recording_coverage(recording)
    assert coverage["total"] == 1 and coverage["accepted"] == 1
    assert [(r["region"], r["accepted"]) for r in coverage["regions"]] == [("central", 1)]
