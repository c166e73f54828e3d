"""A video upload decoded into its frame store by a real Celery worker on the export queue (broker runs only)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assets.models import MediaAsset
from task_types.video.clips import write_clip
from tests.helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_worker_builds_the_frame_store(make_campaign, token_client, celery_worker_process, tmp_path):
    if celery_worker_process is None:
        pytest.skip("no broker: the embedded mode runs the job in process (tests/test_video_type.py)")
    path = tmp_path / "clip.mp4"
    write_clip(path, width=320, height=180, seconds=2.0, fps=25, gop=12)
    campaign = make_campaign("video", items=[], overlap=1, config={"shapes": ["box"], "labels": [{"name": "red"}]})
    response = token_client().post(reverse("campaign-media-upload", args=[campaign.pk]),
                                   {"file": SimpleUploadedFile("clip.mp4", path.read_bytes()), "name": "clip.mp4"},
                                   format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["info"]["frames"] == {"state": "pending"}  # the job runs after the response
    key = response.json()["key"]
    asset = wait_for(lambda: MediaAsset.objects.filter(key=key, info__frames__state="ready").first(), timeout=60)
    assert asset.info["frames"]["frame_count"] == 50
    item = campaign.task.validate_item({"video": key}, campaign.config)
    assert item["frame_count"] == 50 and item["fps"] == 25
    asset.delete()  # its file and chunks go after commit (the media root is the worker's too)
