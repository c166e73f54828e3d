"""Item import over the API, run by the real Celery worker (eager in process without a broker)."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tasks.models import Item
from tests.helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_api_upload_progress_and_error_report(token_client, make_campaign, celery_worker_process):
    campaign = make_campaign(items=[])
    client = token_client()
    lines = [json.dumps({"text": f"Câu {i}"}, ensure_ascii=False) for i in range(10)]
    lines[3] = "[1, 2]"
    res = client.post(f"/api/v1/campaigns/{campaign.pk}/imports/",
                      {"file": SimpleUploadedFile("items.jsonl", "\n".join(lines).encode())}, format="multipart")
    assert res.status_code == 202, res.content
    job_id = res.json()["id"]
    assert res["Location"] == f"/api/v1/imports/{job_id}/"
    status = wait_for(lambda: (lambda d: d if d["status"] in ("succeeded", "failed") else None)(
        client.get(f"/api/v1/imports/{job_id}/").json()), timeout=60)
    assert status["status"] == "failed" and status["progress"] == 1.0 and status["error_count"] == 1
    assert status["errors"] == [{"line": 4, "field": "", "message": "Each line must be a JSON object."}]
    report = client.get(f"/api/v1/imports/{job_id}/errors/")
    assert report["Content-Type"].startswith("text/csv") and b"4,,Each line must be a JSON object." in report.content
    assert not Item.objects.filter(campaign=campaign).exists()

    lines[3] = json.dumps({"text": "Câu 3"})
    res = client.post(f"/api/v1/campaigns/{campaign.pk}/imports/",
                      {"file": SimpleUploadedFile("items.jsonl", "\n".join(lines).encode())}, format="multipart")
    status = wait_for(lambda: (lambda d: d if d["status"] in ("succeeded", "failed") else None)(
        client.get(f"/api/v1/imports/{res.json()['id']}/").json()), timeout=60)
    assert status["status"] == "succeeded" and status["imported"] == 10
    assert Item.objects.filter(campaign=campaign).count() == 10
    listing = client.get(f"/api/v1/campaigns/{campaign.pk}/imports/").json()
    assert [j["id"] for j in listing] == [res.json()["id"], job_id]
