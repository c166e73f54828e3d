"""Moving vision datasets in and out of a campaign: import pre-annotated images, export consensus as
COCO, YOLO or Pascal VOC (the Hugging Face layout is the platform export with ``image_objects``).

Import is all or nothing: every image and object is checked before one item is created, and a refusal
names the file and the object. Export streams the campaign's consensus (exports.selectors) through the
writers in ``formats.py``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction

from core.schema import SchemaError
from exports.layouts import LayoutContext
from exports.selectors import export_records
from tasks.models import Item
from tasks.services import new_item

from .formats import DatasetImage, ImportRefused
from .layouts import IMAGE_OBJECTS, TREES

EXPORT_FORMATS = tuple(t.format for t in TREES)


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
        from .tiles import delete_pyramid

        for asset in stored:
            delete_pyramid(asset.key)
            delete_asset(asset)
        raise


# An uploaded dataset (the import API and the admin page) is unpacked into a temporary folder first.
MAX_ZIP_MEMBERS = 50_000
MAX_UNPACKED_BYTES = 4 * 1024**3
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".tif", ".tiff", ".bmp")


def import_dataset_upload(*, campaign, fmt: str, annotations, annotations_name: str, images=None,
                          uploaded_by=None) -> int:
    """An uploaded dataset as pre-annotated items, all or nothing: ``annotations`` is the COCO or Label Studio
    JSON, the CVAT XML, or for YOLO a zip with ``data.yaml`` and ``labels/`` (its images may be in it too);
    ``images`` a zip of the images (any folders: they are matched by file name). Raises ImportRefused or
    MediaRefused naming the file and object; nothing is stored then."""
    import re
    import tempfile

    if fmt not in IMPORT_FORMATS:
        raise ImportRefused("format", f"one of {', '.join(IMPORT_FORMATS)}")
    with tempfile.TemporaryDirectory(prefix="image-import-") as tmp:
        root = Path(tmp)
        media_dir = root / "images"
        media_dir.mkdir()
        if fmt == "yolo":
            labels_dir = root / "yolo"
            _unpack(annotations, annotations_name, media_dir, labels_dir)
            yamls = sorted(labels_dir.rglob("data.yaml"), key=lambda p: len(p.parts))
            if not yamls:
                raise ImportRefused(annotations_name, "no data.yaml in the zip (Ultralytics' layout: data.yaml, "
                                                      "labels/, images/)")
            ann_path = yamls[0].parent
        else:
            # The refusals name this file: its own name, made safe for the folder ("export (1).json").
            name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(annotations_name or "").name)[-120:].lstrip(".")
            ann_path = root / (name or "annotations")
            with open(ann_path, "wb") as dst:
                shutil.copyfileobj(annotations, dst, 1 << 20)
        if images is not None:
            _unpack(images, getattr(images, "name", "images.zip"), media_dir, None)
        return import_dataset_folder(campaign=campaign, fmt=fmt, annotations=ann_path, images_dir=media_dir,
                                     uploaded_by=uploaded_by)


def _unpack(stream, zip_name: str, media_dir: Path, other_dir: Path | None) -> None:
    """Images of a zip into ``media_dir`` by file name (folders dropped: datasets match images by name);
    with ``other_dir`` the zip's text files (data.yaml, labels/*.txt) under it with their folders."""
    import zipfile
    import zlib

    from assets.zip_import import unsafe_member_name

    Refused = ImportRefused  # noqa: N806 - short name for the many refusals below
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError) as exc:
        raise Refused(zip_name, "not a readable zip file") from exc
    infos = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
    if len(infos) > MAX_ZIP_MEMBERS:
        raise Refused(zip_name, f"more than {MAX_ZIP_MEMBERS} files")
    if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise Refused(zip_name, f"unpacks to more than {MAX_UNPACKED_BYTES // 1024**3} GB")
    seen: dict[str, str] = {}
    for info in infos:
        member = info.filename
        if unsafe_member_name(member):
            raise Refused(f"{zip_name}: {member[:200]}", "unsafe path in the zip (absolute, '..' or backslash)")
        base = member.rsplit("/", 1)[-1]
        # A zip of images may name them without an extension (Label Studio's uploads): every file is a
        # candidate, decoded only when the dataset names it. In a YOLO zip only images are.
        if base.startswith(".") or base.lower().endswith((".txt", ".yaml", ".yml", ".json", ".xml", ".md")):
            is_image = False
        else:
            is_image = other_dir is None or base.lower().endswith(IMAGE_SUFFIXES)
        if is_image:
            if base in seen:
                raise Refused(f"{zip_name}: {member[:200]}", f"two images are named {base} ({seen[base]})")
            seen[base] = member
            dest = media_dir / base
        elif other_dir is not None and base.lower().endswith((".txt", ".yaml", ".yml")):
            dest = other_dir / member
        else:
            continue  # README files, .DS_Store...: not part of the dataset
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.open(info) as src, open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError) as exc:
            raise Refused(f"{zip_name}: {member[:200]}", "damaged in the zip") from exc


def export_campaign(*, campaign, fmt: str, out: Path, filters: dict | None = None, with_images: bool = True) -> dict:
    """Write the campaign's consensus in ``fmt`` under ``out`` (a folder; COCO: ``annotations.json`` and
    ``images/``): the export layout's file tree (layouts.TREES, as the export API builds it) written to a
    folder, with the images copied from storage."""
    tree = IMAGE_OBJECTS.tree(fmt)
    if tree is None:
        raise SchemaError("format", f"one of {', '.join(EXPORT_FORMATS)}")
    out.mkdir(parents=True, exist_ok=True)
    ctx = LayoutContext(config=campaign.config)
    with transaction.atomic():  # the server-side cursor of export_records
        counts = tree.write(export_records(campaign, IMAGE_OBJECTS, filters or {}), out, ctx)
    if with_images:
        for key, path in ctx.media.items():
            dest = out / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            with default_storage.open(key, "rb") as src, open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst)
    return counts


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
