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


IMPORT_FORMATS = ("coco", "yolo", "cvat", "labelstudio")


def read_dataset(fmt: str, annotations: Path, images_dir: Path, *, skeleton_points=None) -> list[DatasetImage]:
    """A team's dataset files as DatasetImages: ``annotations`` is the COCO/Label Studio JSON, the CVAT XML,
    or for YOLO the folder holding ``data.yaml`` and ``labels/`` (image sizes then come from the images)."""
    import orjson

    from assets.decoding import inspect_image

    from .formats import read_coco, read_cvat_xml, read_data_yaml, read_label_studio, read_yolo

    if fmt not in IMPORT_FORMATS:
        raise ImportRefused("format", f"one of {', '.join(IMPORT_FORMATS)}")
    if fmt == "yolo":
        meta = read_data_yaml((annotations / "data.yaml").read_text(encoding="utf-8"))
        labels, sizes = {}, {}
        for txt in sorted((annotations / "labels").rglob("*.txt")):
            image = next((p for p in images_dir.rglob(f"{txt.stem}.*") if p.suffix.lower() != ".txt"), None)
            if image is None:
                raise ImportRefused(txt.name, "no image with this name in the images folder")
            info = inspect_image(image.read_bytes(), field_name=image.name)
            labels[image.name] = txt.read_text(encoding="utf-8")
            sizes[image.name] = (info.width, info.height)
        return read_yolo(labels, meta["names"], sizes, kpt_shape=meta["kpt_shape"])
    text = annotations.read_bytes()
    try:
        if fmt == "cvat":
            return read_cvat_xml(text.decode("utf-8"), source=annotations.name)
        data = orjson.loads(text)
    except (UnicodeDecodeError, orjson.JSONDecodeError) as exc:
        raise ImportRefused(annotations.name, f"not readable ({str(exc)[:80]})") from exc
    if fmt == "coco":
        return read_coco(data, source=annotations.name)
    return read_label_studio(data, source=annotations.name, skeleton_points=skeleton_points)


def import_dataset_folder(*, campaign, fmt: str, annotations: Path, images_dir: Path, uploaded_by=None) -> int:
    """Upload a dataset's images into the campaign and create one pre-annotated item each, or nothing.

    Every image is decoded (bombs, truncated and 0-byte files refused naming the file) and every object
    checked; on any refusal the images stored so far are deleted again."""
    from assets.decoding import check_file_name, inspect_image
    from assets.services import campaign_media_key, delete_asset, max_image_bytes, store_media

    images = read_dataset(fmt, annotations, images_dir,
                          skeleton_points=(campaign.config.get("skeleton") or {}).get("points"))
    stored, keys = [], {}
    try:
        for img in images:
            name = Path(img.file_name).name
            path = images_dir / name
            if not path.is_file():
                raise ImportRefused(img.file_name, "not found in the images folder")
            check_file_name(name, img.file_name)
            data = path.read_bytes()
            info = inspect_image(data, field_name=img.file_name, max_bytes=max_image_bytes())
            asset = store_media(key=campaign_media_key(campaign.pk, name), data=data, kind="image",
                                content_type=info.content_type, campaign=campaign, uploaded_by=uploaded_by,
                                info={"width": info.width, "height": info.height, "format": info.format})
            stored.append(asset)
            keys[img.file_name] = asset.key
        return import_pre_annotated(campaign=campaign, images=images, keys=keys, source=fmt)
    except BaseException:
        for asset in stored:
            delete_asset(asset)
        raise


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


def gold_report(campaign) -> dict[int, dict]:
    """Per contributor, over the gold items they answered: micro precision and recall (true positives over
    all their objects / all gold objects) and the mean IoU/OKS of their matched pairs."""
    from annotations.models import Annotation

    task, config = campaign.task, campaign.config
    totals: dict[int, dict] = {}
    rows = (Annotation.objects.filter(campaign=campaign, is_gold=True)
            .values_list("contributor_id", "payload", "item__gold_answer"))
    for user_id, payload, gold in rows.iterator():
        if not gold:
            continue
        scores = task.gold_scores(payload, gold, config=config)
        t = totals.setdefault(user_id, {"tp": 0, "fp": 0, "fn": 0, "iou_sum": 0.0, "answers": 0})
        t["tp"] += scores["tp"]
        t["fp"] += scores["fp"]
        t["fn"] += scores["fn"]
        t["iou_sum"] += scores["mean_iou"] * scores["tp"]
        t["answers"] += 1
    return {user: {"precision": round(t["tp"] / max(t["tp"] + t["fp"], 1), 4),
                   "recall": round(t["tp"] / max(t["tp"] + t["fn"], 1), 4),
                   "mean_iou": round(t["iou_sum"] / t["tp"], 4) if t["tp"] else 0.0, "answers": t["answers"]}
            for user, t in totals.items()}
