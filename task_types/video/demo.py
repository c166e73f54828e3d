"""Demo content for video annotation: a four-second clip of two coloured rectangles moving across a gradient,
encoded here with PyAV (no download, no licence question) and decoded into its frame store in process.
The clip's true boxes become the gold answer (keyframes wherever the motion changes)."""
from __future__ import annotations

import os
import tempfile

from assets.models import MediaAsset
from assets.services import build_frame_store, store_demo_media
from tasks.types.base import DemoCampaign

from .clips import write_clip

DEMO_KEY = "demo/video/moving-boxes.mp4"
LABELS = [{"name": "red", "color": "#e6194b"}, {"name": "blue", "color": "#4363d8"}]


def demo_clip() -> tuple[str, dict]:
    """Store the demo clip (and its frame store) once; returns (key, clip facts with the true tracks)."""
    def build():
        handle, path = tempfile.mkstemp(suffix=".mp4")
        os.close(handle)
        try:
            facts = write_clip(path, width=640, height=360, seconds=4.0, fps=25, gop=25)
            with open(path, "rb") as f:
                data = f.read()
        finally:
            os.unlink(path)
        from assets.video import inspect_video

        probe = inspect_video(data, name="moving-boxes.mp4")
        return data, "video/mp4", {**probe.as_dict(), "name": "moving-boxes.mp4", "frames": {"state": "pending"},
                                   "truth": facts["tracks"]}

    asset = store_demo_media(DEMO_KEY, kind=MediaAsset.Kind.VIDEO, build=build,
                             keep=lambda a: (a.info.get("frames") or {}).get("state") == "ready")
    if (asset.info.get("frames") or {}).get("state") != "ready":
        asset = build_frame_store(asset=asset)
    return DEMO_KEY, asset.info


def gold_tracks(truth: list[list[list[float]]], every: int = 25) -> list[dict]:
    """The true boxes as keyframes every ``every`` frames (the motion is linear: interpolation is within a
    pixel of the drawing between them)."""
    out = []
    for i, boxes in enumerate(truth):
        frames = sorted({*range(0, len(boxes), every), len(boxes) - 1})
        keyframes = [{"frame": f, "box": boxes[f], "outside": False, "occluded": False, "attributes": {}} for f in frames]
        out.append({"id": f"g{i + 1}", "label": LABELS[i]["name"], "shape": "box", "keyframes": keyframes})
    return out


def demo_campaigns(task_type) -> list[DemoCampaign]:
    key, info = demo_clip()
    base = task_type.default_config()
    frames = info["frames"]
    gold = {"tracks": gold_tracks(info["truth"]), "clip": [frames["width"], frames["height"], frames["frame_count"]]}
    return [DemoCampaign(
        name="Video: theo dõi hai khối màu chuyển động",
        config={**base, "shapes": ["box", "polygon", "points"], "labels": LABELS},
        instructions=("## Hướng dẫn\n\nVẽ một **hộp** quanh mỗi khối màu ở khung đầu, rồi tua tới vài khung sau "
                      "(phím `.` / `,` hoặc thanh trượt) và kéo hộp cho khớp: mỗi lần chỉnh tạo một khung khóa, "
                      "các khung giữa được nội suy. Đánh dấu **Ra ngoài** khi vật thể rời khung hình."),
        items=[{"payload": {"video": key, "source": "demo"}, "external_id": "moving-boxes", "gold_answer": gold}],
        extra={"overlap": 2, "max_overlap": 3},
    )]
