"""Cross-organisation media (issue 18): an item may name only its own organisation's media.

Refused at import on every path (API JSONL/CSV/Parquet, admin upload, admin zip), refused again at export
(items already stored, e.g. from before the check), and never shown as storage keys to contributors.
"""
import io
import json
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from organizations.models import Membership
from tasks.import_jobs import run_import_job
from tasks.models import ImportJob, Item
from tasks.services import create_campaign
from tests import media_samples as ms
from tests.api_data import answer_items
from tests.test_admin_console import make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORT_ROOT = tmp_path / "exports"
    return settings.MEDIA_ROOT


@pytest.fixture
def their_key(media_root, other_org, token_client):
    """An image organisation B uploaded to one of its campaigns, through the API."""
    theirs = create_campaign(organization=other_org, name="B's scans", task_type="ocr")
    res = token_client(other_org).post(reverse("campaign-media-upload", args=[theirs.pk]),
                                       {"file": SimpleUploadedFile("secret.png", ms.png(64, 32))}, format="multipart")
    assert res.status_code == 201, res.content
    return res.json()["key"]


@pytest.fixture
def our_key(media_root, org, token_client):
    ours = create_campaign(organization=org, name="A's other scans", task_type="ocr")
    res = token_client(org).post(reverse("campaign-media-upload", args=[ours.pk]),
                                 {"file": SimpleUploadedFile("mine.png", ms.png(64, 32))}, format="multipart")
    assert res.status_code == 201, res.content
    return res.json()["key"]


def _parquet(rows: list[dict]) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), out)
    return out.getvalue()


def _api_import(client, campaign, name: str, data: bytes) -> ImportJob:
    res = client.post(reverse("campaign-imports", args=[campaign.pk]), {"file": SimpleUploadedFile(name, data)},
                      format="multipart")
    assert res.status_code == 202, res.content
    run_import_job(res.json()["id"])  # what the import worker runs
    return ImportJob.objects.get(pk=res.json()["id"])


@pytest.mark.parametrize("name,build", [
    ("items.jsonl", lambda first, second: f'{{"image": "{first}"}}\n{{"image": "{second}"}}\n'.encode()),
    ("items.csv", lambda first, second: f"image\n{first}\n{second}\n".encode()),
    ("items.parquet", lambda first, second: _parquet([{"image": first}, {"image": second}])),
])
def test_api_import_refuses_another_organisations_media_naming_line_and_field(org, token_client, their_key, our_key,
                                                                              name, build):
    campaign = create_campaign(organization=org, name="A's OCR", task_type="ocr")
    job = _api_import(token_client(org), campaign, name, build(our_key, their_key))
    assert job.status == "failed" and job.imported == 0
    line = 3 if name.endswith(".csv") else 2  # CSV counts its header line
    assert job.errors == [{"line": line, "field": "payload.image", "message": (
        f"No media of this organisation has the key {their_key}; upload the file to one of its campaigns first.")}]
    assert not Item.objects.filter(campaign=campaign).exists()
    # The same file naming only A's own media imports.
    ok = _api_import(token_client(org), campaign, name, build(our_key, our_key))
    assert ok.status == "succeeded", ok.errors
    assert Item.objects.filter(campaign=campaign).count() == 2


def test_admin_import_refuses_another_organisations_media(client, org, their_key):
    campaign = create_campaign(organization=org, name="A's OCR", task_type="ocr")
    client.force_login(make_member(org, Membership.Role.MANAGER))
    url = reverse("admin:tasks_campaign_import", args=[campaign.pk])
    client.post(url, {"file": SimpleUploadedFile("items.jsonl", json.dumps({"image": their_key}).encode())})
    job = ImportJob.objects.latest("id")
    run_import_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and job.errors[0]["field"] == "payload.image" and job.errors[0]["line"] == 1
    # A zip's manifest naming B's key (not a file in the zip) is refused too; its own files import.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("manifest.jsonl", json.dumps({"image": their_key}) + "\n" + json.dumps({"image": "a.png"}))
        archive.writestr("a.png", ms.png(64, 32))
    client.post(url, {"file": SimpleUploadedFile("scans.zip", out.getvalue())})
    job = ImportJob.objects.latest("id")
    if job.status == ImportJob.Status.PENDING:
        run_import_job(job.pk)
        job.refresh_from_db()
    assert job.status == "failed" and job.errors[0]["line"] == 1 and job.errors[0]["field"] == "payload.image"
    assert not Item.objects.filter(campaign=campaign).exists()


def test_export_leaves_out_media_of_another_organisation(org, other_org, media_root, make_campaign, make_contributor):
    from assets.services import store_media
    from exports.services import export_file_path, request_export, run_export

    theirs = create_campaign(organization=other_org, name="B's audio", task_type="speech_validation")
    mine = create_campaign(organization=org, name="A's audio", task_type="speech_validation")
    clip = ms.webm_opus(ms.voice(2.0))
    their = store_media(key="campaigns/b/secret.webm", data=clip, kind="audio", content_type="audio/webm",
                        info={"duration_s": 2.0}, campaign=theirs).key
    own = store_media(key="campaigns/a/own.webm", data=clip, kind="audio", content_type="audio/webm",
                      info={"duration_s": 2.0}, campaign=mine).key
    # Items written before the import check existed (make_campaign validates, it does not check ownership).
    campaign = make_campaign("speech_validation", overlap=1, items=[
        {"payload": {"audio": their, "sentence": "Của tổ chức khác."}},
        {"payload": {"audio": own, "sentence": "Của mình."}},
    ])
    answer_items(campaign, [make_contributor()], lambda i, c: {"verdict": "matches"})
    export = run_export(request_export(campaign=campaign, fmt="jsonl", layout="speech").pk)
    assert export.status == "succeeded", export.error
    names = zipfile.ZipFile(export_file_path(export)).namelist()
    media = [n for n in names if n.startswith("media/")]
    assert media == [n for n in media if n.endswith("own.webm")] and len(media) == 1
    assert export.stats["refused_media_count"] == 1
    assert their not in json.dumps(export.stats)


def test_contributors_never_receive_storage_keys(media_root, org, make_campaign, make_contributor, our_key):
    from rest_framework.test import APIClient

    campaign = make_campaign("ocr", items=[{"payload": {"image": our_key}}], overlap=1)
    api = APIClient()
    api.force_authenticate(make_contributor())
    res = api.post(reverse("task-next", args=[campaign.pk]), format="json")
    assert res.status_code == 200, res.content
    assignment = res.json()["assignment"]
    assert our_key not in res.content.decode()
    assert assignment["item"]["payload"]["image"] == "media:image"
    # The page still gets the image, through a short-lived URL signed for this contributor.
    media = api.get(reverse("assets:assignment-media", args=[assignment["id"]])).json()["media"]
    assert set(media) == {"image"}
