"""OCR export layout: the image file (packaged in the archive), consensus text and boxes in pixels."""

from __future__ import annotations

import orjson

from exports.layouts import (
    UNIT_ITEM,
    Layout,
    LayoutContext,
    json_field,
    pa,
    storage_key,
)


def box_type():
    return pa.struct([("points", pa.list_(pa.list_(pa.float64()))), ("text", pa.string()), ("label", pa.string())])
def ocr_schema():
    return pa.schema([
    ("file_name", pa.string()), ("text", pa.string()), ("boxes", pa.list_(box_type())), ("agreement", pa.float64()),
    ("item_id", pa.int64()), ("external_id", pa.string()),
])


def _points(region: dict) -> list[list[float]]:
    if isinstance(region.get("points"), list):
        return [[float(p[0]), float(p[1])] for p in region["points"] if isinstance(p, (list, tuple)) and len(p) >= 2]
    box = region.get("box") or region.get("bbox") or region
    try:
        x, y = float(box["x"]), float(box["y"])
        w, h = float(box.get("w", box.get("width"))), float(box.get("h", box.get("height")))
    except (KeyError, TypeError, ValueError):
        return []
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


def ocr(rec, ctx: LayoutContext) -> list[dict]:
    """Image file (packaged in the archive), consensus text, and boxes/polygons in pixel coordinates."""
    item = json_field(rec.item_payload)
    result = json_field(rec.result)
    key = storage_key(item, ("image", "image_key", "file", "key"))
    if not key:
        return []
    regions = result.get("regions") or result.get("boxes") or []
    boxes = [{"points": _points(r), "text": str(r.get("text") or ""), "label": str(r.get("label") or r.get("field") or "")}
             for r in regions if isinstance(r, dict)]
    text = result.get("text")
    if not isinstance(text, str):
        fields = result.get("fields")
        text = orjson.dumps(fields).decode() if isinstance(fields, dict) else "\n".join(b["text"] for b in boxes)
    return [{"file_name": ctx.media_path(key, rec.item_id), "text": text, "boxes": boxes,
             "agreement": rec.agreement, "item_id": rec.item_id, "external_id": rec.external_id}]


OCR = Layout("ocr", UNIT_ITEM, ocr_schema, ocr, has_media=True, free_text=True, description="Image file, consensus text and boxes/polygons.")
