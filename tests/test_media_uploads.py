"""Media storage end to end: recording uploads validated by decoding, signed URLs, campaign uploads, bad input."""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from annotations.models import Annotation
from assets.models import MediaAsset
from tasks.models import Item
from tests import media_samples as ms

SENTENCE = "Hôm nay trời đẹp lắm bạn ơi"  # 7 syllables: 1.0 s .. 10.0 s


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(root: Path) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()] if Path(root).exists() else []


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def lease(client: Client, campaign) -> dict:
    response = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json")
    assert response.status_code == 200, response.content
    assignment = response.json()["assignment"]
    assert assignment is not None, response.json()
    return assignment


def upload(client: Client, assignment_id: int, data: bytes, name: str = "take.webm", **extra):
    return client.post(
        reverse("assets:recording-upload", args=[assignment_id]),
        {"audio": SimpleUploadedFile(name, data, content_type="audio/webm"), "device": "Pixel 7 mic", **extra},
        HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14) Chrome/126",
    )


def submit(client: Client, assignment_id: int, payload: dict):
    return client.post(reverse("assignment-submit", args=[assignment_id]), {"payload": payload},
                       content_type="application/json")


@pytest.fixture
def recording_campaign(make_campaign):
    return make_campaign("speech_recording", items=[{"payload": {"sentence": SENTENCE}}], overlap=2)


@pytest.fixture
def speaker(make_contributor):
    from contributors.models import ContributorProfile

    user = make_contributor(region="central")
    ContributorProfile.objects.filter(user=user).update(
        province="Thành phố Huế", dialect="Huế", gender="female", birth_year=1992, device_type="phone"
    )
    return user


@pytest.mark.django_db
def test_recording_upload_submit_and_validation_item(media_root, recording_campaign, make_campaign, speaker,
                                                     make_contributor, django_capture_on_commit_callbacks):
    validation = make_campaign("speech_validation", items=[], overlap=1,
                               config={"source_campaign": recording_campaign.pk, "accept_after": 2, "reject_after": 2})
    client = client_for(speaker)
    assignment = lease(client, recording_campaign)
    assert assignment["view"]["media_nonce"]
    assert (assignment["view"]["min_seconds"], assignment["view"]["max_seconds"]) == (1.0, 10.0)  # 7 syllables

    response = upload(client, assignment["id"], ms.webm_opus(ms.voice(3.0)))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["key"].startswith(f"recordings/{recording_campaign.pk}/{assignment['view']['media_nonce']}/")
    assert body["key"].endswith(".webm")
    assert 2.8 < body["duration_s"] < 3.2 and body["sample_rate"] == 48000
    assert default_storage.exists(body["key"])

    # A second take replaces the first (the first file and row are gone).
    with django_capture_on_commit_callbacks(execute=True):  # the old file goes when the request commits
        second = upload(client, assignment["id"], ms.webm_opus(ms.voice(2.5, seed=3))).json()
    assert not default_storage.exists(body["key"]) and default_storage.exists(second["key"])
    assert MediaAsset.objects.filter(assignment_id=assignment["id"]).count() == 1

    response = submit(client, assignment["id"], {"audio": second["key"]})
    assert response.status_code == 201, response.content
    annotation = Annotation.objects.get(pk=response.json()["annotation_id"])
    payload = annotation.payload
    assert payload["audio"] == second["key"] and payload["sentence"] == SENTENCE
    assert payload["speaker"]["region"] == "central" and payload["speaker"]["province"] == "Thành phố Huế"
    assert payload["speaker"]["dialect"] == "Huế" and payload["speaker"]["gender"] == "female"
    assert payload["speaker"]["age_band"] in {"25-34", "35-44"}
    assert payload["device"]["label"] == "Pixel 7 mic" and payload["device"]["type"] == "phone"
    assert "Android" in payload["device"]["user_agent"]
    assert payload["sample_rate"] == 48000 and payload["codec"] == "opus"

    # The recording became a validation item whose source is the speaker, never served to them.
    item = Item.objects.get(campaign=validation)
    assert item.source_contributor_id == speaker.pk
    assert item.payload["audio"] == second["key"] and item.payload["sentence"] == SENTENCE
    assert item.payload["speaker"]["region"] == "central"
    mine = client.post(reverse("task-next", args=[validation.pk]), content_type="application/json").json()
    assert mine["assignment"] is None
    other = lease(client_for(make_contributor()), validation)
    assert other["item"]["id"] == item.pk


BAD_RECORDINGS = [
    ("not-audio.webm", lambda: "Đây là văn bản, không phải âm thanh.\n".encode() * 50, "not a"),
    ("empty.webm", lambda: b"", "empty"),
    ("long.webm", lambda: ms.webm_opus(ms.voice(31.0)), "too long"),
    ("short.webm", lambda: ms.webm_opus(ms.voice(0.6)), "too short"),
    ("silent.webm", lambda: ms.webm_opus(np.zeros(48000 * 3, dtype=np.float32)), "silent"),
    ("clipped.wav", lambda: ms.wav(np.clip(ms.voice(3.0, 16000, level=4.0), -1, 1), 16000), "clipping"),
    ("phone-line.wav", lambda: ms.wav(ms.voice(3.0, 8000), 8000), "sample rate"),
    ("../../../etc/passwd.webm", lambda: b"\x1aE\xdf\xa3" + b"\x00" * 200, "not a"),
    ("truncated.webm", lambda: ms.webm_opus(ms.voice(3.0))[:60], "not a"),
]


@pytest.mark.django_db
def test_bad_recordings_are_refused_and_nothing_is_stored(media_root, recording_campaign, speaker):
    """Non-audio named .webm, 0 bytes, over-long, too short, silent, clipped, 8 kHz, traversal name, truncated."""
    client = client_for(speaker)
    assignment = lease(client, recording_campaign)
    for name, data_factory, message in BAD_RECORDINGS:
        response = upload(client, assignment["id"], data_factory(), name=name)
        assert response.status_code == 400, (name, response.content)
        error = response.json()["error"]
        assert error["field"] == "audio", name
        assert message in error["message"].lower(), (name, error["message"])
        assert MediaAsset.objects.count() == 0, name
        assert stored_files(media_root) == [], name
    # Submitting without an accepted upload is refused too, naming the field.
    refused = submit(client, assignment["id"], {"audio": f"recordings/{recording_campaign.pk}/x/y.webm"})
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "audio"


@pytest.mark.django_db
def test_recording_upload_scoping_and_key_checks(media_root, recording_campaign, speaker, make_contributor):
    client = client_for(speaker)
    assignment = lease(client, recording_campaign)
    intruder = client_for(make_contributor())
    assert upload(intruder, assignment["id"], ms.webm_opus(ms.voice(3.0))).status_code == 404
    missing = client.post(reverse("assets:recording-upload", args=[assignment["id"]]), {"device": "x"})
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "audio"

    # The intruder's own take cannot be submitted on the speaker's assignment (another nonce).
    their = lease(intruder, recording_campaign)
    their_key = upload(intruder, their["id"], ms.webm_opus(ms.voice(3.0))).json()["key"]
    for bad in (their_key, "../../etc/passwd", "/etc/passwd", f"recordings/{recording_campaign.pk}/../../x.webm"):
        response = submit(client, assignment["id"], {"audio": bad})
        assert response.status_code == 400, bad
        assert response.json()["error"]["field"] == "audio"
    assert Annotation.objects.count() == 0
    # A closed assignment takes no more uploads.
    key = upload(client, assignment["id"], ms.webm_opus(ms.voice(3.0))).json()["key"]
    assert submit(client, assignment["id"], {"audio": key}).status_code == 201
    assert upload(client, assignment["id"], ms.webm_opus(ms.voice(3.0))).status_code == 404


@pytest.mark.django_db
def test_signed_media_urls(media_root, settings, make_campaign, make_contributor, org, token_client):
    api = token_client()
    campaign = make_campaign("speech_validation", items=[], overlap=1)
    data = ms.ogg(ms.voice(2.0, 16000), 16000)
    response = api.post(reverse("campaign-media-upload", args=[campaign.pk]),
                        {"file": SimpleUploadedFile("clip.ogg", data), "name": "clip-1.ogg"}, format="multipart")
    assert response.status_code == 201, response.content
    key = response.json()["key"]
    assert re.fullmatch(rf"campaigns/{campaign.pk}/[0-9a-f]{{16}}/clip-1\.ogg", key)  # unguessable folder
    assert response.json()["kind"] == "audio"
    Item.objects.create(campaign=campaign, payload=campaign.task.validate_item({"audio": key, "sentence": "Xin chào các bạn"},
                                                                                 campaign.config),
                        target_overlap=1, open_slots=1)
    user = make_contributor()
    client = client_for(user)
    assignment = lease(client, campaign)
    assert assignment["item"]["payload"]["audio"] == "media:audio"  # neither a storage key nor a URL (issue 18)
    media = client.get(reverse("assets:assignment-media", args=[assignment["id"]])).json()
    url = media["media"]["audio"]
    assert url.startswith("/assets/m/") and key not in url
    fetched = client.get(url)
    assert fetched.status_code == 200 and fetched["Content-Type"] == "audio/ogg"
    assert b"".join(fetched.streaming_content) == data
    partial = client.get(url, HTTP_RANGE="bytes=0-99")
    assert partial.status_code == 206 and len(partial.content) == 100
    assert partial["Content-Range"] == f"bytes 0-99/{len(data)}"

    other = client_for(make_contributor())
    assert other.get(url).status_code == 403  # signed for someone else
    assert other.get(reverse("assets:assignment-media", args=[assignment["id"]])).status_code == 404
    assert Client().get(url).status_code == 403  # anonymous
    assert client.get(url[:-3] + "xx/").status_code == 403  # tampered
    settings.MEDIA_URL_TTL_SECONDS = 1
    time.sleep(2.1)
    assert client.get(url).status_code == 403  # expired


@pytest.mark.django_db
def test_campaign_media_upload_validates_content_and_names(media_root, make_campaign, other_org, token_client):
    api = token_client()
    campaign = make_campaign("ocr", items=[], overlap=1, config={"mode": "full_page"})
    url = reverse("campaign-media-upload", args=[campaign.pk])
    image = ms.png(800, 600)
    ok = api.post(url, {"file": SimpleUploadedFile("scan.png", image), "name": "scan-1.png"}, format="multipart")
    assert ok.status_code == 201, ok.content
    assert ok.json()["info"]["width"] == 800 and ok.json()["info"]["height"] == 600

    cases = [
        ({"file": SimpleUploadedFile("scan.png", image[: len(image) // 2]), "name": "half.png"}, "file"),
        ({"file": SimpleUploadedFile("scan.png", b"GIF89a-not-really"), "name": "bad.png"}, "file"),
        ({"file": SimpleUploadedFile("scan.png", b""), "name": "zero.png"}, "file"),
        ({"file": SimpleUploadedFile("scan.png", image), "name": "../../etc/passwd"}, "name"),
        ({"file": SimpleUploadedFile("scan.png", image), "name": "..\\..\\boot.ini"}, "name"),
        ({"file": SimpleUploadedFile("scan.png", image), "name": "nested/dir.png"}, "name"),
    ]
    for body, field in cases:
        response = api.post(url, body, format="multipart")
        assert response.status_code == 400, (body["name"], response.content)
        assert response.json()["error"]["field"] == field, body["name"]
        assert response.json()["error"]["message"]
    assert MediaAsset.objects.count() == 1
    assert [p.name for p in stored_files(media_root)] == ["scan-1.png"]
    assert default_storage.open(ok.json()["key"]).read() == image
    # The same name again is a new file: nothing already stored is overwritten.
    again = api.post(url, {"file": SimpleUploadedFile("scan.png", ms.png(10, 10)), "name": "scan-1.png"},
                     format="multipart")
    assert again.status_code == 201 and again.json()["key"] != ok.json()["key"]
    assert default_storage.open(ok.json()["key"]).read() == image
    # Another organisation's campaign does not exist for this token.
    foreign = make_campaign("ocr", items=[], overlap=1, organization=other_org, config={"mode": "full_page"})
    response = api.post(reverse("campaign-media-upload", args=[foreign.pk]),
                        {"file": SimpleUploadedFile("s.png", image)}, format="multipart")
    assert response.status_code == 404


@pytest.mark.django_db
def test_coverage_per_region_and_province(media_root, make_campaign, make_contributor, org, django_user_model):
    from contributors.models import ContributorProfile, Region
    from organizations.models import Membership

    campaign = make_campaign("speech_recording", items=[{"payload": {"sentence": SENTENCE}}] * 4, overlap=3,
                             region_quotas={"north": 40, "central": 30, "south": 30})
    for region, province in (("north", "Thành phố Hà Nội"), ("south", "Cần Thơ"), ("south", "Thành phố Hồ Chí Minh")):
        user = make_contributor(region=region)
        ContributorProfile.objects.filter(user=user).update(province=province)
        client = client_for(user)
        assignment = lease(client, campaign)
        key = upload(client, assignment["id"], ms.webm_opus(ms.voice(3.0))).json()["key"]
        assert submit(client, assignment["id"], {"audio": key}).status_code == 201
    from review.selectors import recording_coverage

    coverage = recording_coverage(campaign)
    assert coverage["total"] == 3
    by_region = {r["region"]: r for r in coverage["regions"]}
    assert by_region["south"]["count"] == 2 and by_region["north"]["count"] == 1
    assert by_region["central"]["count"] == 0 and by_region["central"]["below_quota"]
    assert {p["province"] for p in by_region["south"]["provinces"]} == {"Cần Thơ", "Thành phố Hồ Chí Minh"}

    manager = django_user_model.objects.create_user("pm@example.com", "pm@example.com", "pw-123456789", is_staff=True)
    Membership.objects.create(organization=org, user=manager)
    page = client_for(manager).get(reverse("assets:coverage", args=[campaign.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Cần Thơ" in text and str(Region.SOUTH.label) in text and "<script>" not in text
    outsider = django_user_model.objects.create_user("x@example.com", "x@example.com", "pw-123456789", is_staff=True)
    assert client_for(outsider).get(reverse("assets:coverage", args=[campaign.pk])).status_code == 404


def test_s3_storage_gets_short_lived_presigned_urls(settings):
    """With S3 configured, contributors get the bucket's own presigned URL (signed locally by botocore)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
            "bucket_name": "vn-media", "access_key": "AKIAEXAMPLEEXAMPLE", "secret_key": "s" * 40,
            "region_name": "ap-southeast-1", "querystring_auth": True, "default_acl": None,
            "signature_version": "s3v4"}},
    }
    from assets.selectors import signed_media_url

    url = signed_media_url("recordings/7/abc/take.webm", user_id=1, ttl=120)
    assert url.startswith("https://vn-media.s3.") and "recordings/7/abc/take.webm" in url
    assert "X-Amz-Expires=120" in url and "X-Amz-Signature=" in url
    with pytest.raises(ValueError):
        signed_media_url("../../etc/passwd", user_id=1)


@pytest.mark.django_db
def test_another_organisations_media_is_never_signed(media_root, make_campaign, make_contributor, other_org,
                                                     token_client):
    """Even if an item names another organisation's file, the page gets no URL for it."""
    theirs = make_campaign("ocr", items=[], overlap=1, organization=other_org, config={"mode": "full_page"})
    response = token_client(other_org).post(reverse("campaign-media-upload", args=[theirs.pk]),
                                            {"file": SimpleUploadedFile("s.png", ms.png())}, format="multipart")
    foreign_key = response.json()["key"]
    ours = make_campaign("ocr", items=[{"payload": {"image": foreign_key}}], overlap=1, config={"mode": "full_page"})
    client = client_for(make_contributor())
    assignment = lease(client, ours)
    media = client.get(reverse("assets:assignment-media", args=[assignment["id"]])).json()["media"]
    assert media == {}


@pytest.mark.django_db
def test_oversized_recordings_are_refused_before_decoding(media_root, settings, recording_campaign, speaker):
    settings.MEDIA_MAX_AUDIO_BYTES = 100_000
    client = client_for(speaker)
    assignment = lease(client, recording_campaign)
    huge = upload(client, assignment["id"], b"\0" * 400_000)  # refused from Content-Length: 413
    assert huge.status_code == 413 and huge.json()["error"]["field"] == "audio"
    slightly = upload(client, assignment["id"], ms.wav(ms.voice(4.0, 16000), 16000)[:110_000])  # read, then refused
    assert slightly.status_code == 400 and "too large" in slightly.json()["error"]["message"]
    assert MediaAsset.objects.count() == 0 and stored_files(media_root) == []


@pytest.mark.django_db
def test_deleting_a_campaign_deletes_its_stored_files(media_root, make_campaign, token_client,
                                                      django_capture_on_commit_callbacks):
    campaign = make_campaign("ocr", items=[], overlap=1, config={"mode": "full_page"})
    key = token_client().post(reverse("campaign-media-upload", args=[campaign.pk]),
                              {"file": SimpleUploadedFile("s.png", ms.png())}, format="multipart").json()["key"]
    assert default_storage.exists(key)
    with django_capture_on_commit_callbacks(execute=True):
        campaign.delete()
    assert not MediaAsset.objects.exists() and not default_storage.exists(key)


@pytest.mark.django_db
def test_other_browsers_recordings_are_accepted(media_root, recording_campaign, speaker):
    """Firefox records Ogg/Opus, Safari fragmented MP4/AAC: both decode and are stored with the right type."""
    client = client_for(speaker)
    assignment = lease(client, recording_campaign)
    for data, ext, content_type in (
        (ms.encoded(ms.voice(3.0), 48000, "ogg", "libopus"), "ogg", "audio/ogg"),
        (ms.encoded(ms.voice(3.0), 48000, "mp4", "aac", movflags="frag_keyframe+empty_moov"), "m4a", "audio/mp4"),
    ):
        response = upload(client, assignment["id"], data, name=f"take.{ext}")
        assert response.status_code == 201, response.content
        assert response.json()["key"].endswith(f".{ext}")
        assert MediaAsset.objects.get(key=response.json()["key"]).content_type == content_type


@pytest.mark.django_db
def test_reviewers_hear_recordings_and_see_images(media_root, recording_campaign, speaker, make_campaign, org,
                                                  django_user_model, token_client):
    from organizations.models import Membership

    client = client_for(speaker)
    assignment = lease(client, recording_campaign)
    key = upload(client, assignment["id"], ms.webm_opus(ms.voice(3.0))).json()["key"]
    assert submit(client, assignment["id"], {"audio": key}).status_code == 201
    manager = django_user_model.objects.create_user("rv@example.com", "rv@example.com", "pw-123456789", is_staff=True)
    Membership.objects.create(organization=org, user=manager, role=Membership.Role.MANAGER)
    reviewer = client_for(manager)
    page = reviewer.get(reverse("review:item", args=[assignment["item"]["id"]]))
    assert page.status_code == 200
    audio_url = re.search(r'<audio controls preload="metadata" src="([^"]+)"', page.content.decode()).group(1)
    assert audio_url.startswith("/assets/m/") and reviewer.get(audio_url).status_code == 200
    assert client.get(audio_url).status_code == 403  # signed for the reviewer only

    ocr = make_campaign("ocr", items=[], overlap=1, config={"mode": "full_page"})
    image_key = token_client().post(reverse("campaign-media-upload", args=[ocr.pk]),
                                    {"file": SimpleUploadedFile("s.png", ms.png())}, format="multipart").json()["key"]
    item = Item.objects.create(campaign=ocr, payload=ocr.task.validate_item({"image": image_key}, ocr.config),
                               target_overlap=1, open_slots=1)
    page = reviewer.get(reverse("review:item", args=[item.pk])).content.decode()
    image_url = re.search(r'<img src="([^"]+)" alt="image"', page).group(1)
    assert reviewer.get(image_url)["Content-Type"] == "image/png"
