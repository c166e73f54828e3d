"""Video annotation: upload and frame store (bad videos refused, nothing half-stored), answers checked
through the real submit path, interpolation (Python and the page's JS agree), track matching and
consensus (with a planted bug), MOT and CVAT-video round trips on the shared fixtures, the bench smoke."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from annotations.models import Annotation
from assets.models import MediaAsset
from assets.video import extract_frames, inspect_video
from consensus.engine import score_item_consensus
from core.schema import SchemaError
from task_types.video import tracks as tr
from task_types.video.clips import write_clip
from task_types.video.formats import read_cvat_video, read_mot, write_cvat_video, write_mot
from tasks.models import Item
from tasks.types import get_task_type

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path("/work/shared/fixtures/vision")
VIDEO = get_task_type("video")
CONFIG = {"shapes": ["box", "polygon", "points"], "labels": [{"name": "red"}, {"name": "blue"}]}
W, H, N = 320, 180, 50


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORT_ROOT = tmp_path / "exports"
    return settings.MEDIA_ROOT


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    facts = write_clip(path, width=W, height=H, seconds=2.0, fps=25, gop=12)
    return path.read_bytes(), facts


def upload(api, campaign, data, name):
    return api.post(reverse("campaign-media-upload", args=[campaign.pk]),
                    {"file": SimpleUploadedFile(name, data), "name": name}, format="multipart")


@pytest.fixture
def stored_clip(media_root, make_campaign, token_client, clip_bytes, eager_tasks, django_capture_on_commit_callbacks):
    campaign = make_campaign("video", items=[], overlap=1, config=CONFIG)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(token_client(), campaign, clip_bytes[0], "clip.mp4")
    assert response.status_code == 201, response.content
    return campaign, response.json()["key"]


def lease(client, campaign):
    return client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()["assignment"]


def submit(client, assignment, payload):
    return client.post(reverse("assignment-submit", args=[assignment["id"]]), {"payload": payload},
                       content_type="application/json")


# --- upload, frame store, bad videos ---------------------------------------------------------------------

@pytest.mark.django_db
def test_upload_builds_a_seekable_frame_store(stored_clip, make_contributor, clip_bytes):
    campaign, key = stored_clip
    asset = MediaAsset.objects.get(key=key)
    frames = asset.info["frames"]
    assert asset.kind == "video" and frames["state"] == "ready"
    assert (frames["frame_count"], frames["width"], frames["height"], frames["fps"]) == (N, W, H, 25)
    # Keyframe-aligned chunks (GOP 12, at least 60 frames a chunk at most 120): one chunk of 50 here;
    # every frame a JPEG at its offset.
    assert sum(c["count"] for c in frames["chunks"]) == N
    chunk = default_storage.open(frames["chunks"][0]["key"]).read()
    offsets = frames["chunks"][0]["offsets"]
    assert len(offsets) == frames["chunks"][0]["count"] + 1 and offsets[-1] == len(chunk)
    assert all(chunk[offsets[i]:offsets[i] + 2] == b"\xff\xd8" for i in range(len(offsets) - 1))
    # The item takes the clip's facts; the page gets signed chunk URLs it can fetch.
    Item.objects.create(campaign=campaign, payload=VIDEO.validate_item({"video": key}, campaign.config),
                        target_overlap=1, open_slots=1)
    client = Client()
    client.force_login(make_contributor())
    assignment = lease(client, campaign)
    assert assignment["item"]["payload"]["frame_count"] == N and assignment["item"]["payload"]["video"] == "media:video"
    media = client.get(reverse("assets:assignment-media", args=[assignment["id"]])).json()
    first = media["frames"]["video"]["chunks"][0]
    body = b"".join(client.get(first["url"]).streaming_content)
    assert body[first["offsets"][1]:first["offsets"][2]][:2] == b"\xff\xd8"


def test_small_chunks_start_on_keyframes(tmp_path, settings, clip_bytes):
    settings.MEDIA_ROOT = tmp_path
    src = tmp_path / "c.mp4"
    src.write_bytes(clip_bytes[0])
    index = extract_frames(str(src), prefix="x", chunk_frames=10)
    starts = [c["start"] for c in index["chunks"]]
    assert starts == [0, 12, 24, 36, 48]  # GOP 12: every chunk opens on a keyframe
    assert index["frame_count"] == N and index["range"] == "limited"  # H.264's range kept (no conversion)
    # The red mover, decoded from the stored JPEG and stretched back as the page does, keeps its colour.
    import numpy as np
    from PIL import Image

    chunk = (tmp_path / index["chunks"][0]["key"]).read_bytes()
    first = np.asarray(Image.open(io.BytesIO(chunk[: index["chunks"][0]["offsets"][1]])).convert("RGB"), dtype=float)
    x, y, w, h = clip_bytes[1]["tracks"][0][0]
    shown = np.clip((first[int(y + h / 2), int(x + w / 2)] - 16) * 255 / 219, 0, 255)
    assert shown == pytest.approx([230, 60, 60], abs=12)


def _mp4_without_video(tmp_path) -> bytes:
    import av
    import numpy as np

    path = tmp_path / "a.m4a"
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("aac", rate=16000)
        for i in range(16):
            tone = 0.3 * np.sin(np.arange(i * 1024, (i + 1) * 1024) / 16000 * 2 * np.pi * 440)
            frame = av.AudioFrame.from_ndarray(tone[None].astype(np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path.read_bytes()


@pytest.mark.django_db
def test_bad_videos_are_refused_naming_the_file(media_root, make_campaign, token_client, clip_bytes, settings,
                                                tmp_path):
    api = token_client()
    campaign = make_campaign("video", items=[], overlap=1, config=CONFIG)
    data = clip_bytes[0]
    cases = {
        "empty.mp4": b"",
        "cut.mp4": data[: len(data) // 3],
        "playlist.m3u8": b"#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:10,\nhttp://example.com/a.ts\n",
        "list.txt": b"ffconcat version 1.0\nfile 'http://example.com/a.mp4'\n",
    }
    for name, body in cases.items():
        response = upload(api, campaign, body, name)
        assert response.status_code == 400, (name, response.content)
        assert name in response.json()["error"]["message"] or name == "empty.mp4", response.json()
    # Decompression-bomb guards: a tiny file that claims a huge picture or a long running time.
    settings.MEDIA_MAX_VIDEO_SIDE = 200
    response = upload(api, campaign, data, "wide.mp4")
    assert response.status_code == 400 and "wide.mp4" in response.json()["error"]["message"]
    settings.MEDIA_MAX_VIDEO_SIDE = 4096
    settings.MEDIA_MAX_VIDEO_SECONDS = 1
    response = upload(api, campaign, data, "long.mp4")
    assert response.status_code == 400 and "long.mp4" in response.json()["error"]["message"]
    assert MediaAsset.objects.count() == 0
    assert not any(p.is_file() for p in Path(media_root).rglob("*")) if Path(media_root).exists() else True
    voice = _mp4_without_video(tmp_path)
    with pytest.raises(SchemaError) as exc:
        inspect_video(voice, name="voice.m4a")
    assert "voice.m4a" in exc.value.message
    # An audio-only MP4 upload still takes the audio path (the video probe looks for a video stream).
    response = upload(api, campaign, voice, "voice.m4a")
    assert response.status_code == 201 and response.json()["kind"] == "audio", response.content


@pytest.mark.django_db
def test_a_failed_extraction_keeps_no_chunk(media_root, clip_bytes, monkeypatch, tmp_path):
    from assets import video
    from assets.services import build_frame_store, store_media

    src = tmp_path / "c.mp4"
    src.write_bytes(clip_bytes[0])
    real = video.ContentFile
    calls = {"n": 0}

    def failing(data):  # the third chunk's write fails after two were stored
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(data)

    monkeypatch.setattr(video, "ContentFile", failing)
    with pytest.raises(video.MediaRefused) as exc:
        extract_frames(str(src), prefix="campaigns/x/v.mp4.frames", name="v.mp4", chunk_frames=10)
    assert "v.mp4" in exc.value.message
    assert calls["n"] == 3 and not list(Path(media_root).rglob("*.jpgs"))
    monkeypatch.setattr(video, "ContentFile", real)
    asset = store_media(key="campaigns/x/v.mp4", data=clip_bytes[0][:4000], kind="video", content_type="video/mp4",
                        info={"name": "v.mp4", "frames": {"state": "pending"}})
    asset = build_frame_store(asset=asset)  # a cut file: decoding fails, the asset says why, no chunk stays
    assert asset.info["frames"]["state"] == "failed" and "v.mp4" in asset.info["frames"]["error"]
    assert MediaAsset.objects.get(pk=asset.pk).info["frames"]["state"] == "failed"
    assert not list(Path(media_root).rglob("*.jpgs"))
    with pytest.raises(SchemaError) as exc:
        VIDEO.validate_item({"video": asset.key}, VIDEO.validate_config(CONFIG))
    assert "v.mp4" in exc.value.message


# --- checks and interpolation ----------------------------------------------------------------------------

def test_tracks_are_checked_naming_the_track_and_keyframe():
    def check(tracks):
        return tr.check_tracks(tracks, width=W, height=H, frame_count=N, labels={"red", "blue"})

    good = {"label": "red", "shape": "box", "keyframes": [{"frame": 10, "box": [1, 1, 20, 20]},
                                                           {"frame": 0, "box": [5, 5, 20, 20]}]}
    assert [k["frame"] for k in check([good])[0]["keyframes"]] == [0, 10]
    bad = [
        ({"keyframes": [{"frame": N, "box": [1, 1, 5, 5]}]}, "tracks[0].keyframes[0].frame"),
        ({"keyframes": [{"frame": 1, "box": [1, 1, 5, 5]}, {"frame": 1, "box": [1, 1, 5, 5]}]},
         "tracks[0].keyframes[1].frame"),
        ({"keyframes": [{"frame": 1, "box": [310, 1, 50, 5]}]}, "tracks[0].keyframes[0].box"),
        ({"keyframes": [{"frame": 1, "box": [float("nan"), 1, 5, 5]}]}, "tracks[0].keyframes[0].box"),
        ({"shape": "polygon", "keyframes": [{"frame": 1, "points": [[0, 0], [9, 9], [9, 0], [0, 9]]}]},
         "tracks[0].keyframes[0].points"),
        ({"shape": "points", "keyframes": [{"frame": 1, "points": [[1, 1], [float("inf"), 2]]}]},
         "tracks[0].keyframes[0].points[1]"),
        ({"label": "bus"}, "tracks[0].label"),
        ({"shape": "mask"}, "tracks[0].shape"),
    ]
    for change, field in bad:
        with pytest.raises(tr.GeometryError) as exc:
            check([{**good, **change}])
        assert exc.value.field == field, (change, exc.value.field, exc.value.message)


SAMPLE = [
    {"id": "a", "label": "red", "shape": "box", "keyframes": [
        {"frame": 0, "box": [10, 10, 40, 30], "outside": False, "occluded": False, "attributes": {}},
        {"frame": 7, "box": [33.3, 17, 41, 29], "outside": False, "occluded": True, "attributes": {}},
        {"frame": 20, "box": [100, 50, 20, 20], "outside": True, "occluded": False, "attributes": {}},
        {"frame": 30, "box": [90, 60, 25, 22.5], "outside": False, "occluded": False, "attributes": {}},
        {"frame": 41, "box": [12.01, 3.3, 50, 50], "outside": False, "occluded": False, "attributes": {}}]},
    {"id": "b", "label": "blue", "shape": "polygon", "keyframes": [
        {"frame": 3, "points": [[10, 10], [60, 12], [40, 70]], "outside": False, "occluded": False, "attributes": {}},
        {"frame": 16, "points": [[20, 15], [70, 19], [45, 88.8]], "outside": False, "occluded": False,
         "attributes": {}},
        {"frame": 25, "points": [[20, 15], [70, 19], [45, 88.8], [10, 60]], "outside": False, "occluded": False,
         "attributes": {}}]},
    {"id": "c", "label": "red", "shape": "points", "keyframes": [
        {"frame": 5, "points": [[1, 1], [2, 2]], "outside": False, "occluded": False, "attributes": {}},
        {"frame": 48, "points": [[300, 170], [250.55, 100.05]], "outside": False, "occluded": False,
         "attributes": {}}]},
]


def test_interpolation_rules():
    box = tr.expand(SAMPLE[0], N)
    assert box[0]["frame"] == 0 and len(box) == N
    assert box[3]["box"] == [round(10 + 23.3 * 3 / 7, 2), round(10 + 7 * 3 / 7, 2), 40.43, 29.57]
    assert box[7]["occluded"] and box[7]["keyframe"]
    assert box[15]["box"] == [33.3, 17, 41, 29]  # no motion towards an outside keyframe
    assert box[25]["outside"] and not box[30]["outside"]
    assert box[N - 1]["box"] == [12.01, 3.3, 50, 50]  # held after the last keyframe
    poly = tr.expand(SAMPLE[1], N)
    assert poly[0]["frame"] == 3 and poly[22 - 3]["points"] == SAMPLE[1]["keyframes"][1]["points"]  # 3 vs 4 points: held


def test_page_interpolation_mirrors_the_server():
    """video.js's expand() on the same tracks gives the same frames, to the hundredth (node runs the page script)."""
    script = ROOT / "task_types/video/video.js"
    program = (f"global.window = {{}}; require({json.dumps(str(script))});"
               f"const tracks = {json.dumps(SAMPLE)};"
               f"process.stdout.write(JSON.stringify(tracks.map((t) => window.TaskTypes.video.expand(t, {N}))));")
    out = subprocess.run(["node", "-e", program], capture_output=True, text=True, timeout=60, check=True).stdout
    assert json.loads(out) == [tr.expand(t, N) for t in SAMPLE]


@pytest.mark.django_db
def test_answers_through_the_submit_path(stored_clip, make_contributor):
    campaign, key = stored_clip
    Item.objects.create(campaign=campaign, payload=VIDEO.validate_item({"video": key}, campaign.config),
                        target_overlap=1, open_slots=1)
    client = Client()
    client.force_login(make_contributor())
    assignment = lease(client, campaign)
    bad = {"tracks": [{"label": "red", "shape": "box", "keyframes": [{"frame": 2, "box": [0, 0, 400, 10]}]}]}
    response = submit(client, assignment, bad)
    assert response.status_code == 400 and response.json()["error"]["field"] == "tracks[0].keyframes[0].box"
    assert submit(client, assignment, {"tracks": []}).json()["error"]["field"] == "tracks"
    assert Annotation.objects.count() == 0
    good = {"tracks": [{"label": "blue", "shape": "box", "keyframes": [{"frame": 0, "box": [0, 0, 10, 10]}]}]}
    assert submit(client, assignment, good).status_code == 201
    stored = Annotation.objects.get().payload
    assert stored["clip"] == [W, H, N] and stored["tracks"][0]["keyframes"][0]["outside"] is False


# --- matching and consensus ------------------------------------------------------------------------------

def moving(dx=0.0, start=0, end=N, label="red", y=20.0) -> dict:
    return {"id": "m", "label": label, "shape": "box", "keyframes": [
        {"frame": start, "box": [10 + dx, y, 40, 30], "outside": False, "occluded": False, "attributes": {}},
        {"frame": end - 1, "box": [200 + dx, y + 20, 40, 30], "outside": False, "occluded": False, "attributes": {}}]}


def test_track_similarity_is_mean_iou_over_frames():
    assert tr.track_similarity(moving(), moving(), N, W, H) == pytest.approx(1.0)
    flags = {"occluded": False, "attributes": {}}
    still = {"shape": "box", "keyframes": [{"frame": 0, "box": [10, 20, 40, 30], "outside": False, **flags}]}
    half = {"shape": "box", "keyframes": [*still["keyframes"],
                                          {"frame": 25, "box": [10, 20, 40, 30], "outside": True, **flags}]}
    # Identical on the 25 frames both show, 0 on the 25 where only one does.
    assert tr.track_similarity(still, half, N, W, H) == pytest.approx(0.5)
    assert tr.track_similarity(moving(), {**moving(), "shape": "polygon"}, N, W, H) == 0


def three_answers():
    far = moving(label="blue", y=120.0)
    return [[moving(0), far], [moving(2), moving(1, label="blue", y=121.0)], [far, moving(-2, label="blue")]]


def test_consensus_tracks_match_across_contributors():
    result = tr.consensus_tracks(three_answers(), [1, 1, 1], N, W, H)
    assert len(result["tracks"]) == 2 and result["missing"] == [0, 0, 0] and result["extra"] == [0, 0, 0]
    top = next(t for t in result["tracks"] if t["keyframes"][0]["box"][1] == 20)
    assert top["n"] == 3 and top["label"] == "red" and top["support"] == 1.0
    assert top["keyframes"][0]["box"][0] == pytest.approx(10 + (0 + 2 - 2) / 3, abs=0.01)  # weighted box fusion
    assert 0.9 < top["agreement"] <= 1.0


def check_fragment_stays_apart():
    """A 5-frame fragment is not the same object as a 50-frame track: it is an extra, not a match."""
    result = tr.consensus_tracks([[moving()], [moving(start=45)], [moving()]], [1, 1, 1], N, W, H)
    assert result["extra"] == [0, 1, 0] and len(result["tracks"]) == 1


def test_a_fragment_is_extra():
    check_fragment_stays_apart()


def test_planted_bug_in_track_similarity_is_caught(monkeypatch):
    """A similarity averaged over shared frames only (forgetting frames where one track is absent) matches
    the fragment to the full track; the check above must then fail."""
    def shared_only(a, b, frame_count, width, height):
        va, vb = tr.visible_shapes(a, frame_count), tr.visible_shapes(b, frame_count)
        return 1.0 if a["shape"] == b["shape"] and any(f in vb for f in va) else 0.0

    monkeypatch.setattr(tr, "track_similarity", shared_only)
    with pytest.raises(AssertionError):
        check_fragment_stays_apart()


@pytest.mark.django_db
def test_consensus_through_the_engine_and_exports(stored_clip, make_contributor, media_root):
    campaign, key = stored_clip
    campaign.overlap = 3
    campaign.save(update_fields=["overlap"])
    Item.objects.create(campaign=campaign, payload=VIDEO.validate_item({"video": key}, campaign.config),
                        target_overlap=3, open_slots=3)
    for tracks in three_answers():
        client = Client()
        client.force_login(make_contributor())
        payload = {"tracks": [{**t, "id": f"t{i}"} for i, t in enumerate(tracks)]}
        assert submit(client, lease(client, campaign), payload).status_code == 201
    item = Item.objects.get(campaign=campaign)
    consensus = score_item_consensus(item.pk)
    assert consensus.method == "hungarian_mean_iou_tracks"
    assert len(consensus.result["tracks"]) == 2 and 0.8 < consensus.agreement <= 1
    # Exported as MOT and CVAT for video, read back: the consensus boxes on every frame.
    out = Path(media_root) / "export"
    call_command("video_dataset", "export", "--campaign", str(campaign.pk), "--format", "mot", "--out", str(out / "mot"),
                 stdout=io.StringIO())
    call_command("video_dataset", "export", "--campaign", str(campaign.pk), "--format", "cvat", "--out",
                 str(out / "cvat"), stdout=io.StringIO())
    mot, _ = read_mot((out / f"mot/{item.pk}/gt/gt.txt").read_text(), ["red", "blue"])
    cvat, _skipped, meta = read_cvat_video((out / f"cvat/{item.pk}/annotations.xml").read_text())
    assert meta["size"] == N and meta["labels"] == ["red", "blue"]
    expected = [tr.visible_shapes(t, N) for t in consensus.result["tracks"]]
    for back in (mot, cvat):
        got = [tr.visible_shapes(tr.check_tracks([t], width=W, height=H, frame_count=N + 1)[0], N) for t in back]
        assert sorted(g.keys() == e.keys() for g, e in zip(got, expected, strict=True)) == [True, True]
        assert all(g[f] == pytest.approx(e[f], abs=0.011) for g, e in zip(got, expected, strict=True) for f in e)


# --- formats ---------------------------------------------------------------------------------------------

def test_mot_fixture_and_round_trip(tmp_path):
    labels = (FIXTURES / "mot/datumaro_mot_seq/gt/labels.txt").read_text().split()
    tracks, skipped = read_mot((FIXTURES / "mot/datumaro_mot_seq/gt/gt.txt").read_text(), labels)
    assert skipped == [] and len(tracks) == 1
    assert tracks[0]["label"] == "label_2" and tracks[0]["keyframes"][0] == {
        "frame": 0, "box": [0.0, 4.0, 4.0, 8.0], "outside": False, "occluded": False, "attributes": {}}
    checked = tr.check_tracks(SAMPLE[:1], width=W, height=H, frame_count=N)
    write_mot(checked, ["red", "blue"], tmp_path, frame_count=N, width=W, height=H, fps=25)
    back, _ = read_mot((tmp_path / "gt/gt.txt").read_text(), ["red", "blue"])
    assert "seqLength=50" in (tmp_path / "seqinfo.ini").read_text()
    # MOT has every visible frame; reading it back gives the same boxes on every frame.
    mine = {s["frame"]: s["box"] for s in tr.expand(checked[0], N) if not s["outside"]}
    theirs = {}
    for t in back:
        theirs.update(tr.visible_shapes(tr.check_tracks([t], width=W, height=H, frame_count=N + 1)[0], N))
    assert theirs.keys() == mine.keys()
    assert all(theirs[f] == pytest.approx(mine[f], abs=0.011) for f in mine)
    with pytest.raises(Exception) as exc:
        read_mot("1,1,nan,2,3,4,1,1,1\n", ["a"])
    assert "gt.txt: line 1" in str(exc.value)


def test_cvat_video_fixture_and_round_trip():
    text = (FIXTURES / "cvat/cvat_for_video_annotations.xml").read_text()
    tracks, skipped, meta = read_cvat_video(text)
    assert [t["shape"] for t in tracks] == ["box", "points", "polyline"] and skipped == []
    assert meta["width"] == 25 and meta["labels"] == ["klhg", "z U k", "II"]
    assert tracks[0]["keyframes"][0]["box"] == [3.0, 4.0, 7.0, 1.0] and tracks[0]["keyframes"][0]["occluded"]
    assert tracks[1]["keyframes"][0]["attributes"] == {"hgl": "hgkf"}
    checked = tr.check_tracks(tracks, width=25, height=20, frame_count=20)
    xml = write_cvat_video(checked, [{"name": n} for n in meta["labels"]], frame_count=20, width=25, height=20)
    again, _skipped, _meta = read_cvat_video(xml)
    assert tr.check_tracks(again, width=25, height=20, frame_count=20) == [
        {**t, "id": f"cvat-{i}"} for i, t in enumerate(checked)]


@pytest.mark.django_db
def test_import_command_makes_a_pre_annotated_item(stored_clip, tmp_path):
    campaign, key = stored_clip
    out = io.StringIO()
    call_command("video_dataset", "import", "--campaign", str(campaign.pk), "--format", "cvat", "--annotations",
                 str(FIXTURES / "cvat/cvat_for_video_annotations.xml"), "--video", key, stdout=out)
    item = Item.objects.get(campaign=campaign)
    assert [t["shape"] for t in item.payload["pre_tracks"]] == ["box", "points", "polyline"]
    assert "3 tracks" in out.getvalue()
    bad = tmp_path / "gt.txt"
    bad.write_text("1,1,10,10,20,20,1,1,1\n2,1,10,10,900,20,1,1,1\n")
    with pytest.raises(CommandError) as exc:
        call_command("video_dataset", "import", "--campaign", str(campaign.pk), "--format", "mot", "--annotations",
                     str(bad), "--video", key, stdout=io.StringIO())
    assert "gt.txt: pre_tracks[0].keyframes" in str(exc.value) and "outside" in str(exc.value)
    assert Item.objects.filter(campaign=campaign).count() == 1


@pytest.mark.django_db
def test_pre_tracks_from_cvat_are_checked_on_import(stored_clip):
    campaign, key = stored_clip
    tracks, _skipped, _meta = read_cvat_video((FIXTURES / "cvat/cvat_for_video_annotations.xml").read_text())
    payload = VIDEO.validate_item({"video": key, "pre_tracks": tracks, "pre_source": "cvat"}, campaign.config)
    assert len(payload["pre_tracks"]) == 3
    beyond = [{**tracks[0], "keyframes": [{**tracks[0]["keyframes"][0], "frame": N + 5}]}]
    with pytest.raises(SchemaError) as exc:
        VIDEO.validate_item({"video": key, "pre_tracks": beyond}, campaign.config)
    assert exc.value.field == "pre_tracks[0].keyframes[0].frame"


# --- demo and bench --------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_demo_campaign_has_a_ready_clip_and_a_valid_gold(media_root):
    (campaign,) = VIDEO.demo()
    payload = VIDEO.validate_item(campaign.items[0]["payload"], VIDEO.validate_config(campaign.config))
    assert payload["frame_count"] == 100 and (payload["width"], payload["height"]) == (640, 360)
    gold = VIDEO.validate_annotation(campaign.items[0]["gold_answer"], config=VIDEO.validate_config(campaign.config),
                                     item_payload=payload, view={})
    assert len(gold["tracks"]) == 2 and all(len(t["keyframes"]) < 20 for t in gold["tracks"])


def test_bench_smoke(tmp_path):
    env = {**os.environ, "MEDIA_ROOT": str(tmp_path), "DEBUG": "1"}
    proc = subprocess.run([sys.executable, "bench/video_extract.py", "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["frames"] > 0 and result["frames_per_second"] > 0 and result["realtime_factor"] > 0
