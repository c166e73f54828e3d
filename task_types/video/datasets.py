"""Moving track files in and out of a video campaign: import a MOT or CVAT-video file as an item's
pre-annotated tracks, export the consensus tracks as MOT or CVAT for video (one folder per item).

Import checks every track against the stored clip (``validate_item``) before the item is created; a
refusal names the file and line or track. Export streams the campaign's consensus (exports.selectors)."""
from __future__ import annotations

from pathlib import Path

import orjson
from django.db import transaction

from core.schema import SchemaError
from exports.selectors import export_records
from task_types.image.formats import ImportRefused
from tasks.models import Item
from tasks.services import new_item

from .formats import read_cvat_video, read_mot, write_cvat_video, write_mot
from .layouts import VIDEO_TRACKS

FORMATS = ("mot", "cvat")


def read_tracks(fmt: str, annotations: Path) -> tuple[list[dict], list[str]]:
    """Tracks and what was skipped from ``annotations``: a MOT ``gt.txt`` (class names from ``labels.txt``
    beside it, else class numbers) or a CVAT for video XML."""
    if fmt not in FORMATS:
        raise ImportRefused("format", f"one of {', '.join(FORMATS)}")
    try:
        text = annotations.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportRefused(annotations.name, f"not readable ({str(exc)[:80]})") from exc
    if fmt == "cvat":
        tracks, skipped, _meta = read_cvat_video(text, source=annotations.name)
        return tracks, skipped
    labels_file = annotations.with_name("labels.txt")
    labels = labels_file.read_text(encoding="utf-8").split() if labels_file.is_file() else []
    return read_mot(text, labels, source=annotations.name)


def import_tracks(*, campaign, video_key: str, fmt: str, annotations: Path, external_id: str = "") -> tuple[Item, list[str]]:
    """One item for the stored video with the file's tracks as ``pre_tracks``, or an ImportRefused."""
    tracks, skipped = read_tracks(fmt, annotations)
    try:
        payload = campaign.task.validate_item({"video": video_key, "pre_tracks": tracks, "pre_source": fmt,
                                               "file_name": annotations.name}, campaign.config)
    except SchemaError as exc:
        raise ImportRefused(f"{annotations.name}: {exc.field}", exc.message) from exc
    with transaction.atomic():
        item = new_item(campaign, payload=payload, external_id=(external_id or annotations.name)[:200])
        item.save()
    return item, skipped


def export_campaign(*, campaign, fmt: str, out: Path, filters: dict | None = None) -> dict:
    """The consensus tracks of every item as ``out/<item id>/`` in ``fmt`` (MOT folder or CVAT XML)."""
    if fmt not in FORMATS:
        raise SchemaError("format", f"one of {', '.join(FORMATS)}")
    labels = campaign.config["labels"]
    names = [lab["name"] for lab in labels]
    attributes = campaign.config.get("attributes") or []
    counts = {"items": 0, "tracks": 0}
    out.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        for rec in export_records(campaign, VIDEO_TRACKS, filters or {}):
            item = orjson.loads(rec.item_payload) if rec.item_payload else {}
            result = orjson.loads(rec.result) if rec.result else {}
            tracks = result.get("tracks") or []
            folder = out / str(rec.item_id)
            folder.mkdir(exist_ok=True)
            facts = {"frame_count": int(item["frame_count"]), "width": int(item["width"]), "height": int(item["height"])}
            if fmt == "mot":
                write_mot(tracks, names, folder, fps=float(item.get("fps") or 25), name=str(rec.item_id), **facts)
            else:
                (folder / "annotations.xml").write_text(write_cvat_video(
                    tracks, [{**lab, "attributes": attributes} for lab in labels], name=str(rec.item_id),
                    source=Path(item.get("file_name") or item.get("video", "")).name, **facts), encoding="utf-8")
            counts["items"] += 1
            counts["tracks"] += len(tracks)
    return counts
