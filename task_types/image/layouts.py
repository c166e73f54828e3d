"""The platform export layout for image annotation: one row per item with its image and consensus objects.

With the Parquet format the archive is a Hugging Face ``datasets`` layout (``data/<split>.parquet`` plus
``media/``; ``file_name`` points at the image). COCO, YOLO (detect, segment, pose) and Pascal VOC are the
same layout's file trees (``exports.layouts.Tree``), written by ``formats.py`` from the same records: the
export API, the admin's export page and ``manage.py image_dataset export`` all request them by format name.
"""
from __future__ import annotations

import posixpath
from pathlib import Path

import orjson

from exports.layouts import UNIT_ITEM, Layout, LayoutContext, Tree, json_field, pa, storage_key

from .formats import DatasetImage, write_coco, write_voc, write_yolo


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


def dataset_image(rec) -> tuple[DatasetImage, str]:
    """An export record as the writers' DatasetImage (file name ``<item id>_<name>``) and its storage key."""
    item = json_field(rec.item_payload)
    result = json_field(rec.result)
    key = storage_key(item, ("image",))
    name = f"{rec.item_id}_{posixpath.basename(item.get('file_name') or key)}"
    return DatasetImage(name, int(item.get("width") or 0), int(item.get("height") or 0),
                        list(result.get("objects") or []), list(result.get("classes") or []),
                        image_id=rec.item_id), key


def _tree_writer(fmt: str):
    """``Tree.write`` for one format: the images are named in ``ctx.media`` at the path the format wants."""

    def write(records, out: Path, ctx: LayoutContext) -> dict:
        labels = [lab["name"] for lab in ctx.config.get("labels") or []]
        skeleton = ctx.config.get("skeleton")
        keys: dict[int, str] = {}

        def images():
            for rec in records:
                img, key = dataset_image(rec)
                if key:
                    keys[img.image_id] = key
                    if fmt == "coco":
                        ctx.media.setdefault(key, f"images/{img.file_name}")
                yield img

        def name_image(img: DatasetImage, dest: Path) -> None:
            if img.image_id in keys:
                ctx.media.setdefault(keys[img.image_id], dest.relative_to(out).as_posix())

        if fmt == "coco":
            return write_coco(images(), labels, out / "annotations.json", skeleton=skeleton)
        if fmt == "voc":
            return write_voc(images(), out, copy_image=name_image)
        return write_yolo(images(), labels, out, task=fmt.split("-", 1)[1], copy_image=name_image,
                          skeleton=skeleton, root_path=False)

    return write


TREES = (
    Tree("coco", "COCO instances/keypoints: annotations.json (boxes, polygons, RLE masks, keypoints) and images/.",
         _tree_writer("coco")),
    Tree("yolo-detect", "Ultralytics YOLO detect: data.yaml, images/train/, labels/train/<image>.txt (class cx cy w h).",
         _tree_writer("yolo-detect")),
    Tree("yolo-segment", "Ultralytics YOLO segment: data.yaml, images/train/, labels/train/ (class and polygon).",
         _tree_writer("yolo-segment")),
    Tree("yolo-pose", "Ultralytics YOLO pose: data.yaml with kpt_shape and flip_idx, images/train/, labels/train/.",
         _tree_writer("yolo-pose")),
    Tree("voc", "Pascal VOC: Annotations/<image>.xml (every shape as its box), JPEGImages/, ImageSets/Main/.",
         _tree_writer("voc")),
)

IMAGE_OBJECTS = Layout("image_objects", UNIT_ITEM, image_objects_schema, image_objects, has_media=True,
                       description="Image file, size, consensus objects (bbox + full geometry) and image classes.",
                       trees=TREES)
