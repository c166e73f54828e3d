"""Moving vision datasets in and out of a campaign: import pre-annotated images, export consensus as
COCO, YOLO or Pascal VOC (the Hugging Face layout is the platform export with ``image_objects``).

Import is all or nothing: every image and object is checked before one item is created, and a refusal
names the file and the object. Export streams the campaign's consensus (exports.selectors) through the
writers in ``formats.py``.
"""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction

from core.schema import SchemaError
from exports.selectors import export_records
from tasks.models import Item
from tasks.services import new_item

from .formats import DatasetImage, ImportRefused, write_coco, write_voc, write_yolo
from .layouts import IMAGE_OBJECTS

EXPORT_FORMATS = ("coco", "yolo-detect", "yolo-segment", "yolo-pose", "voc")


def import_pre_annotated(*, campaign, images: list[DatasetImage], keys: dict[str, str], source: str) -> int:
    """One item per image, its objects as pre-annotations; ``keys`` maps file names to stored images."""
    task, config = campaign.task, campaign.config
    payloads = []
    for img in images:
        key = keys.get(img.file_name)
        if key is None:
            raise ImportRefused(img.file_name, "no uploaded image has this file name")
        try:
            payload = task.validate_item({"image": key, "file_name": img.file_name, "pre_source": source,
                                          "pre_annotations": img.objects}, config)
        except SchemaError as exc:
            raise ImportRefused(f"{img.file_name}: {exc.field}", exc.message) from exc
        if (payload["width"], payload["height"]) != (img.width, img.height):
            raise ImportRefused(img.file_name, f"the file says {img.width}×{img.height} but the uploaded image is "
                                               f"{payload['width']}×{payload['height']}")
        payloads.append((img, payload))
    with transaction.atomic():
        Item.objects.bulk_create(new_item(campaign, payload=p, external_id=img.file_name[:200]) for img, p in payloads)
    return len(payloads)


def consensus_images(campaign, filters: dict | None = None) -> Iterator[DatasetImage]:
    """The campaign's consensus objects per image, in item order (call inside a transaction on PostgreSQL)."""
    import orjson

    for rec in export_records(campaign, IMAGE_OBJECTS, filters or {}):
        item = orjson.loads(rec.item_payload) if rec.item_payload else {}
        result = orjson.loads(rec.result) if rec.result else {}
        name = f"{rec.item_id}_{Path(item.get('file_name') or item.get('image', '')).name}"
        yield DatasetImage(name, int(item.get("width") or 0), int(item.get("height") or 0),
                           [o for o in result.get("objects") or []], list(result.get("classes") or []),
                           image_id=rec.item_id)


def export_campaign(*, campaign, fmt: str, out: Path, filters: dict | None = None, with_images: bool = True) -> dict:
    """Write the campaign's consensus in ``fmt`` under ``out`` (a folder; COCO: ``annotations.json`` and
    ``images/``)."""
    if fmt not in EXPORT_FORMATS:
        raise SchemaError("format", f"one of {', '.join(EXPORT_FORMATS)}")
    config = campaign.config
    labels = [lab["name"] for lab in config["labels"]]
    keys: dict[int, str] = {}

    def images():
        yield from consensus_images(campaign, filters)

    def copy_image(img: DatasetImage, dest: Path) -> None:
        key = Item.objects.filter(pk=img.image_id).values_list("payload__image", flat=True).first()
        if key:
            keys[img.image_id] = key
            with default_storage.open(key, "rb") as src, open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst)

    out.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        if fmt == "coco":
            rows = list(images()) if with_images else images()
            counts = write_coco(rows, labels, out / "annotations.json", skeleton=config.get("skeleton"))
            if with_images:
                (out / "images").mkdir(exist_ok=True)
                for img in rows:
                    copy_image(img, out / "images" / img.file_name)
            return counts
        if fmt == "voc":
            return write_voc(images(), out, copy_image=copy_image if with_images else None)
        return write_yolo(images(), labels, out, task=fmt.split("-", 1)[1],
                          copy_image=copy_image if with_images else None, skeleton=config.get("skeleton"))
