"""The platform export layout for video annotation: one row per item with its video and consensus tracks.

MOT and CVAT for video are written from the same tracks by ``formats.py``.
"""
from __future__ import annotations

import orjson

from exports.layouts import UNIT_ITEM, Layout, LayoutContext, json_field, pa, storage_key


def video_tracks_schema():
    track = pa.struct([("id", pa.string()), ("label", pa.string()), ("shape", pa.string()),
                       ("keyframes", pa.string()), ("support", pa.float64()), ("agreement", pa.float64())])
    return pa.schema([
        ("file_name", pa.string()), ("width", pa.int64()), ("height", pa.int64()), ("fps", pa.float64()),
        ("frame_count", pa.int64()), ("tracks", pa.list_(track)), ("agreement", pa.float64()),
        ("item_id", pa.int64()), ("external_id", pa.string()),
    ])


def video_tracks(rec, ctx: LayoutContext) -> list[dict]:
    """Video file, clip size, consensus tracks (keyframes as JSON: interpolation rebuilds every frame)."""
    item = json_field(rec.item_payload)
    result = json_field(rec.result)
    key = storage_key(item, ("video",))
    if not key:
        return []
    tracks = [{"id": str(t.get("id", "")), "label": t.get("label", ""), "shape": t.get("shape", ""),
               "keyframes": orjson.dumps(t.get("keyframes") or []).decode(), "support": t.get("support"),
               "agreement": t.get("agreement")} for t in result.get("tracks") or []]
    return [{"file_name": ctx.media_path(key, rec.item_id), "width": item.get("width"), "height": item.get("height"),
             "fps": item.get("fps"), "frame_count": item.get("frame_count"), "tracks": tracks,
             "agreement": rec.agreement, "item_id": rec.item_id, "external_id": rec.external_id}]


VIDEO_TRACKS = Layout("video_tracks", UNIT_ITEM, video_tracks_schema, video_tracks, has_media=True,
                      description="Video file, clip size and consensus tracks (keyframes as JSON).")
