"""The platform export layout for image annotation: one row per item with its image and consensus objects.

With the Parquet format the archive is a Hugging Face ``datasets`` layout (``data/<split>.parquet`` plus
``media/``; ``file_name`` points at the image). COCO, YOLO and Pascal VOC are whole-dataset file trees,
written by ``formats.py`` from the same records.
"""
from __future__ import annotations

import orjson

from exports.layouts import UNIT_ITEM, Layout, LayoutContext, json_field, pa, storage_key


def image_objects_schema():
    obj = pa.struct([("id", pa.string()), ("type", pa.string()), ("label", pa.string()),
                     ("bbox", pa.list_(pa.float64())), ("geometry", pa.string()),
                     ("support", pa.float64()), ("agreement", pa.float64()), ("attributes", pa.string())])
    return pa.schema([
        ("file_name", pa.string()), ("width", pa.int64()), ("height", pa.int64()),
        ("objects", pa.list_(obj)), ("classes", pa.list_(pa.string())), ("agreement", pa.float64()),
        ("item_id", pa.int64()), ("external_id", pa.string()),
    ])


def image_objects(rec, ctx: LayoutContext) -> list[dict]:
    """Image file, size, consensus objects (bbox for every shape, full geometry as JSON) and classes."""
    from .geometry import bbox_of

    item = json_field(rec.item_payload)
    result = json_field(rec.result)
    key = storage_key(item, ("image",))
    if not key:
        return []
    objects = []
    for o in result.get("objects") or []:
        geometry = {k: o[k] for k in ("bbox", "rbox", "points", "keypoints", "rle") if k in o}
        objects.append({"id": str(o.get("id", "")), "type": o.get("type", ""), "label": o.get("label", ""),
                        "bbox": [float(v) for v in bbox_of(o)], "geometry": orjson.dumps(geometry).decode(),
                        "support": o.get("support"), "agreement": o.get("agreement"),
                        "attributes": orjson.dumps(o.get("attributes") or {}).decode()})
    return [{"file_name": ctx.media_path(key, rec.item_id), "width": item.get("width"), "height": item.get("height"),
             "objects": objects, "classes": list(result.get("classes") or []), "agreement": rec.agreement,
             "item_id": rec.item_id, "external_id": rec.external_id}]


IMAGE_OBJECTS = Layout("image_objects", UNIT_ITEM, image_objects_schema, image_objects, has_media=True,
                       description="Image file, size, consensus objects (bbox + full geometry) and image classes.")
