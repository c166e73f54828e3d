"""Vision dataset formats: write COCO, YOLO (detect/segment/pose) and Pascal VOC; read COCO, YOLO,
CVAT image XML and Label Studio JSON into the platform's objects (``geometry.py``'s shapes).

Writers stream: a COCO file's annotations go to a spill file while images are written, so 1M objects
never sit in memory (bench/image_coco_export.py). Readers return ``DatasetImage`` rows; every refusal
is an ``ImportRefused`` naming the file and the object (``instances.json: annotations[12].bbox: ...``).
"""
from __future__ import annotations

import json
import math
import posixpath
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from .geometry import (
    GeometryError,
    area_of,
    bbox_of,
    check_object,
    mask_to_polygons,
    polygon_area,
    polygon_to_yolo,
    rbox_corners,
)


class ImportRefused(ValueError):
    """A dataset file the platform will not take; ``where`` names the file and object."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass
class DatasetImage:
    file_name: str
    width: int
    height: int
    objects: list[dict] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    image_id: int = 0


# --- COCO ------------------------------------------------------------------------------------------------

def write_coco(images: Iterable[DatasetImage], labels: list[str], out: Path, *,
               skeleton: dict | None = None) -> dict:
    """Write a COCO instances (and keypoints, when the skeleton is given) file; returns counts.

    Boxes become ``bbox``; polygons and rotated boxes ``segmentation`` polygons; masks compressed RLE
    (``iscrowd`` 0, as pycocotools accepts); keypoints ``keypoints``/``num_keypoints`` on their own
    annotation with the keypoints' box. Polylines have no COCO form and are counted as skipped.
    """
    import orjson  # several times faster than json for the million small dicts

    cat_ids = {name: i + 1 for i, name in enumerate(labels)}
    categories = []
    for name, cid in cat_ids.items():
        cat = {"id": cid, "name": name, "supercategory": ""}
        if skeleton:
            cat["keypoints"] = list(skeleton["points"])
            cat["skeleton"] = [list(e) for e in skeleton.get("edges") or []]
        categories.append(cat)
    counts = {"images": 0, "annotations": 0, "skipped": 0}
    ann_id = 0
    dumps = orjson.dumps
    with open(out, "wb") as fh, tempfile.TemporaryFile("w+b") as spill:
        fh.write(b'{"info": {"description": "Exported by the annotation platform"}, "licenses": [], ')
        fh.write(b'"categories": ' + dumps(categories) + b', "images": [')
        sep = b""
        for n, img in enumerate(images):
            image_id = img.image_id or n + 1
            fh.write((b"," if n else b"") + dumps({"id": image_id, "file_name": img.file_name, "width": img.width,
                                                    "height": img.height}))
            counts["images"] += 1
            for obj in img.objects:
                coco = coco_annotation(obj, img.width, img.height, cat_ids)
                if coco is None:
                    counts["skipped"] += 1
                    continue
                ann_id += 1
                coco["id"], coco["image_id"] = ann_id, image_id
                spill.write(sep + dumps(coco))
                sep = b","
                counts["annotations"] += 1
        fh.write(b'], "annotations": [')
        spill.seek(0)
        shutil.copyfileobj(spill, fh, 1 << 20)
        fh.write(b"]}")
    return counts


def coco_annotation(obj: dict, width: int, height: int, cat_ids: dict[str, int]) -> dict | None:
    """One object as a COCO annotation (without ids). Polygon areas are the polygon's own (shoelace),
    as COCO's converters compute them; a mask's is its pixel count."""
    kind = obj["type"]
    if kind == "polyline" or obj.get("label", "") not in cat_ids:
        return None
    ann = {"category_id": cat_ids[obj.get("label", "")], "iscrowd": 0}
    if kind == "box":
        x, y, w, h = obj["bbox"]
        ann["bbox"] = [x, y, w, h]
        ann["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
        ann["area"] = round(w * h, 2)
    elif kind in ("polygon", "rbox"):
        pts = obj["points"] if kind == "polygon" else [[round(c, 2) for c in p] for p in rbox_corners(obj["rbox"])]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        ann["bbox"] = [min(xs), min(ys), round(max(xs) - min(xs), 2), round(max(ys) - min(ys), 2)]
        ann["segmentation"] = [[c for p in pts for c in p]]
        ann["area"] = round(polygon_area(pts), 2)
    elif kind == "mask":
        ann["bbox"] = [round(v, 2) for v in bbox_of(obj)]
        ann["segmentation"] = {"size": list(obj["rle"]["size"]), "counts": obj["rle"]["counts"]}
        ann["area"] = area_of(obj, width, height)
    else:
        box = bbox_of(obj)
        ann["bbox"] = [round(v, 2) for v in box]
        ann["keypoints"] = [c for p in obj["keypoints"] for c in p]
        ann["num_keypoints"] = sum(1 for p in obj["keypoints"] if p[2])
        ann["area"] = round(box[2] * box[3], 2)
    return ann


def read_coco(data: dict, *, source: str = "coco.json") -> list[DatasetImage]:
    """COCO instances/keypoints into DatasetImages; each annotation checked, refused naming it."""
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise ImportRefused(source, "not a COCO file (no images list)")
    cats = {c["id"]: c for c in data.get("categories") or []}
    images: dict = {}
    for i, im in enumerate(data["images"]):
        try:
            images[im["id"]] = DatasetImage(str(im["file_name"]), int(im["width"]), int(im["height"]),
                                            image_id=int(im["id"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ImportRefused(f"{source}: images[{i}]", f"needs id, file_name, width and height ({exc})") from exc
    for i, ann in enumerate(data.get("annotations") or []):
        where = f"{source}: annotations[{i}]"
        img = images.get(ann.get("image_id"))
        if img is None:
            raise ImportRefused(where, f"image_id {ann.get('image_id')!r} is not in images")
        cat = cats.get(ann.get("category_id"))
        if cat is None:
            raise ImportRefused(where, f"category_id {ann.get('category_id')!r} is not in categories")
        label = cat["name"]
        seg = ann.get("segmentation")
        objs = []
        if isinstance(seg, dict):
            objs.append({"type": "mask", "rle": _coco_rle(seg, where)})
        elif isinstance(seg, list) and len(seg) == 1 and len(seg[0]) >= 6:
            objs.append({"type": "polygon", "points": [[seg[0][k], seg[0][k + 1]] for k in range(0, len(seg[0]) - 1, 2)]})
        elif isinstance(seg, list) and len(seg) > 1:  # several polygons: one mask
            from pycocotools import mask as mu

            rle = mu.merge(mu.frPyObjects(seg, img.height, img.width))
            objs.append({"type": "mask", "rle": {"size": [img.height, img.width], "counts": rle["counts"].decode()}})
        elif ann.get("bbox") is not None:
            objs.append({"type": "box", "bbox": ann.get("bbox")})
        if ann.get("num_keypoints") and ann.get("keypoints"):
            k = ann["keypoints"]
            objs.append({"type": "keypoints", "keypoints": [[k[j], k[j + 1], int(k[j + 2])] for j in range(0, len(k), 3)]})
        for obj in objs:
            obj["label"] = label
            obj["id"] = f"coco-{ann.get('id', i)}" + ("-kp" if obj["type"] == "keypoints" else "")
            img.objects.append(_checked(obj, where, img))
    return list(images.values())


def _coco_rle(seg: dict, where: str) -> dict:
    from pycocotools import mask as mu

    try:
        h, w = (int(v) for v in seg["size"])
        counts = seg["counts"]
        rle = mu.frPyObjects({"size": [h, w], "counts": counts}, h, w) if isinstance(counts, list) else \
            {"size": [h, w], "counts": counts.encode() if isinstance(counts, str) else counts}
        return {"size": [h, w], "counts": rle["counts"].decode() if isinstance(rle["counts"], bytes) else rle["counts"]}
    except (KeyError, TypeError, ValueError) as exc:
        raise ImportRefused(f"{where}.segmentation", f"unreadable RLE ({exc})") from exc


def _checked(obj: dict, where: str, img: DatasetImage, n_keypoints: int = 0) -> dict:
    try:
        return check_object(obj, "object", img.width, img.height, n_keypoints=n_keypoints)
    except GeometryError as exc:
        raise ImportRefused(f"{where} ({img.file_name})", exc.message) from exc


# --- YOLO ------------------------------------------------------------------------------------------------

def write_yolo(images: Iterable[DatasetImage], labels: list[str], out: Path, *, task: str = "detect",
               copy_image: Callable[[DatasetImage, Path], None] | None = None, split: str = "train",
               skeleton: dict | None = None, root_path: bool = True) -> dict:
    """Ultralytics' layout: ``images/<split>/``, ``labels/<split>/<stem>.txt`` and ``data.yaml``.

    ``root_path``: write ``path:`` (the folder's absolute path); an archive leaves it out, so Ultralytics
    takes the folder holding ``data.yaml`` wherever the archive is unpacked.

    detect: ``class cx cy w h`` (normalised); segment: ``class x1 y1 x2 y2 ...`` (polygons; boxes as their
    4 corners, masks as their outline); pose: ``class cx cy w h x1 y1 v1 ...`` with ``kpt_shape``.
    """
    if task not in ("detect", "segment", "pose"):
        raise ValueError(task)
    cls = {name: i for i, name in enumerate(labels)}
    (out / "images" / split).mkdir(parents=True, exist_ok=True)
    (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    counts = {"images": 0, "labels": 0, "skipped": 0}
    n_kpt = len((skeleton or {}).get("points") or [])
    for img in images:
        stem = posixpath.splitext(posixpath.basename(img.file_name))[0]
        lines = []
        for obj in img.objects:
            line = yolo_line(obj, img.width, img.height, cls, task)
            if line is None:
                counts["skipped"] += 1
            else:
                lines.append(line)
        (out / "labels" / split / f"{stem}.txt").write_text("".join(f"{ln}\n" for ln in lines))
        if copy_image:
            copy_image(img, out / "images" / split / posixpath.basename(img.file_name))
        counts["images"] += 1
        counts["labels"] += len(lines)
    yaml = [f"path: {out.resolve()}"] if root_path else []
    yaml += [f"train: images/{split}", f"val: images/{split}", "names:"]
    yaml += [f"  {i}: {json.dumps(name, ensure_ascii=False)}" for i, name in enumerate(labels)]
    if task == "pose":
        yaml.append(f"kpt_shape: [{n_kpt}, 3]")
        flip = _flip_idx((skeleton or {}).get("points") or [])
        yaml.append(f"flip_idx: {json.dumps(flip)}")
    (out / "data.yaml").write_text("\n".join(yaml) + "\n", encoding="utf-8")
    return counts


def _flip_idx(points: list[str]) -> list[int]:
    """Each point's mirror (left_x <-> right_x), as Ultralytics' pose augmentation needs."""
    index = {p: i for i, p in enumerate(points)}
    out = []
    for i, p in enumerate(points):
        mirror = p.replace("left", "\0").replace("right", "left").replace("\0", "right")
        out.append(index.get(mirror, i))
    return out


def _n(v: float) -> str:
    return f"{min(max(v, 0.0), 1.0):.6f}"


def yolo_line(obj: dict, width: int, height: int, cls: dict[str, int], task: str) -> str | None:
    label = obj.get("label", "")
    if label not in cls:
        return None
    kind = obj["type"]
    if task == "pose":
        if kind != "keypoints":
            return None
        x, y, w, h = bbox_of(obj)
        kp = " ".join(f"{_n(p[0] / width)} {_n(p[1] / height)} {int(p[2])}" for p in obj["keypoints"])
        return f"{cls[label]} {_n((x + w / 2) / width)} {_n((y + h / 2) / height)} {_n(w / width)} {_n(h / height)} {kp}"
    if task == "segment":
        if kind == "polygon":
            pts = obj["points"]
        elif kind == "rbox":
            pts = rbox_corners(obj["rbox"])
        elif kind == "box":
            x, y, w, h = obj["bbox"]
            pts = [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]
        elif kind == "mask":
            polys = mask_to_polygons(obj, width, height)
            if not polys:
                return None
            biggest = max(polys, key=len)
            pts = [[biggest[k], biggest[k + 1]] for k in range(0, len(biggest), 2)]
        else:
            return None
        return f"{cls[label]} " + " ".join(_n(v) for v in polygon_to_yolo(pts, width, height))
    if kind in ("polyline", "keypoints"):
        return None
    x, y, w, h = bbox_of(obj)
    return f"{cls[label]} {_n((x + w / 2) / width)} {_n((y + h / 2) / height)} {_n(w / width)} {_n(h / height)}"


def read_yolo(label_files: dict[str, str], names: list[str], sizes: dict[str, tuple[int, int]], *,
              kpt_shape: tuple[int, int] | None = None) -> list[DatasetImage]:
    """YOLO label texts (by image file name) into DatasetImages; lines refused naming file and line."""
    out = []
    for file_name, text in label_files.items():
        if file_name not in sizes:
            raise ImportRefused(file_name, "no image of that name was uploaded")
        width, height = sizes[file_name]
        img = DatasetImage(file_name, width, height)
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{posixpath.splitext(file_name)[0]}.txt line {n}"
            try:
                parts = [float(p) for p in line.split()]
            except ValueError as exc:
                raise ImportRefused(where, "not numbers") from exc
            c = int(parts[0])
            if parts[0] != c or not 0 <= c < len(names):
                raise ImportRefused(where, f"class {parts[0]:g} is not in names (0..{len(names) - 1})")
            vals = parts[1:]
            if any(not math.isfinite(v) for v in vals):
                raise ImportRefused(where, "a coordinate is not a finite number")
            if kpt_shape and len(vals) == 4 + kpt_shape[0] * kpt_shape[1]:
                k = vals[4:]
                dim = kpt_shape[1]
                obj = {"type": "keypoints", "keypoints": [
                    [k[j] * width, k[j + 1] * height, int(k[j + 2]) if dim == 3 else 2] for j in range(0, len(k), dim)]}
            elif len(vals) == 4:
                cx, cy, w, h = vals
                obj = {"type": "box", "bbox": [(cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height]}
            elif len(vals) >= 6 and len(vals) % 2 == 0:
                obj = {"type": "polygon", "points": [[vals[j] * width, vals[j + 1] * height]
                                                     for j in range(0, len(vals), 2)]}
            else:
                raise ImportRefused(where, f"{len(vals)} numbers after the class: expected 4 (box) or pairs (polygon)")
            obj["label"] = names[c]
            obj["id"] = f"yolo-{n}"
            img.objects.append(_checked(obj, where, img, n_keypoints=kpt_shape[0] if kpt_shape and
                                        obj["type"] == "keypoints" else 0))
        out.append(img)
    return out


def read_data_yaml(text: str) -> dict:
    """The few keys of an Ultralytics data.yaml the platform needs (names, kpt_shape), without PyYAML's
    full loader: ``names`` as a list or a ``{index: name}`` mapping."""
    import yaml  # PyYAML: safe_load only

    data = yaml.safe_load(text) or {}
    names = data.get("names")
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    return {"names": [str(n) for n in names or []], "kpt_shape": tuple(data["kpt_shape"]) if data.get("kpt_shape")
            else None, "train": data.get("train"), "val": data.get("val")}


# --- Pascal VOC ------------------------------------------------------------------------------------------

def write_voc(images: Iterable[DatasetImage], out: Path, *, copy_image=None) -> dict:
    """``Annotations/<stem>.xml`` (boxes with truncated/difficult/occluded), ``JPEGImages/``,
    ``ImageSets/Main/default.txt``. Every shape is written as its bounding box (VOC has boxes only)."""
    (out / "Annotations").mkdir(parents=True, exist_ok=True)
    (out / "JPEGImages").mkdir(parents=True, exist_ok=True)
    (out / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
    stems, n_obj = [], 0
    for img in images:
        stem = posixpath.splitext(posixpath.basename(img.file_name))[0]
        root = ElementTree.Element("annotation")
        ElementTree.SubElement(root, "folder").text = "JPEGImages"
        ElementTree.SubElement(root, "filename").text = posixpath.basename(img.file_name)
        size = ElementTree.SubElement(root, "size")
        for tag, v in (("width", img.width), ("height", img.height), ("depth", 3)):
            ElementTree.SubElement(size, tag).text = str(v)
        for obj in img.objects:
            x, y, w, h = bbox_of(obj)
            attrs = obj.get("attributes") or {}
            o = ElementTree.SubElement(root, "object")
            ElementTree.SubElement(o, "name").text = obj.get("label", "")
            ElementTree.SubElement(o, "truncated").text = "1" if attrs.get("truncated") else "0"
            ElementTree.SubElement(o, "occluded").text = "1" if attrs.get("occluded") else "0"
            ElementTree.SubElement(o, "difficult").text = "0"
            b = ElementTree.SubElement(o, "bndbox")
            for tag, v in (("xmin", x), ("ymin", y), ("xmax", x + w), ("ymax", y + h)):
                ElementTree.SubElement(b, tag).text = f"{v:.2f}"
            n_obj += 1
        ElementTree.ElementTree(root).write(out / "Annotations" / f"{stem}.xml", encoding="utf-8", xml_declaration=True)
        if copy_image:
            copy_image(img, out / "JPEGImages" / posixpath.basename(img.file_name))
        stems.append(stem)
    (out / "ImageSets" / "Main" / "default.txt").write_text("".join(f"{s}\n" for s in stems))
    return {"images": len(stems), "objects": n_obj}


# --- CVAT for images XML ---------------------------------------------------------------------------------

def read_cvat_xml(text: str, *, source: str = "annotations.xml") -> list[DatasetImage]:
    """CVAT 1.1 "for images": box (with rotation), polygon, polyline, points, mask (CVAT's own RLE)."""
    import defusedxml.ElementTree as SafeTree  # no entity expansion from an uploaded file

    try:
        root = SafeTree.fromstring(text)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the file's fault
        raise ImportRefused(source, f"not readable XML ({str(exc)[:80]})") from exc
    out = []
    for image in root.iter("image"):
        img = DatasetImage(image.get("name", ""), int(image.get("width", 0)), int(image.get("height", 0)),
                           image_id=int(image.get("id", 0)) + 1)
        if img.width < 1 or img.height < 1:
            raise ImportRefused(f"{source}: image {img.file_name!r}", "needs width and height")
        for k, shape in enumerate(image):
            where = f"{source}: image {img.file_name!r} {shape.tag}[{k}]"
            attrs = {a.get("name"): _cvat_value(a.text) for a in shape.findall("attribute")}
            if shape.get("occluded") == "1":
                attrs["occluded"] = True
            obj: dict
            if shape.tag == "box":
                x0, y0, x1, y1 = (_float(shape.get(n), where) for n in ("xtl", "ytl", "xbr", "ybr"))
                rot = _float(shape.get("rotation", "0"), where)
                obj = {"type": "rbox", "rbox": [(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, rot]} if rot else \
                    {"type": "box", "bbox": [x0, y0, x1 - x0, y1 - y0]}
            elif shape.tag in ("polygon", "polyline", "points"):
                pts = [[_float(c, where) for c in p.split(",")] for p in (shape.get("points") or "").split(";") if p]
                if shape.tag == "points":
                    obj = {"type": "keypoints", "keypoints": [[x, y, 2] for x, y in pts]}
                else:
                    obj = {"type": shape.tag, "points": pts}
            elif shape.tag == "mask":
                try:
                    obj = {"type": "mask", "rle": _cvat_mask(shape, img, where)}
                except ValueError as exc:  # runs or box that do not fit the image
                    raise ImportRefused(where, f"the mask does not fit the image ({str(exc)[:60]})") from exc
            elif shape.tag == "tag":
                img.classes.append(shape.get("label", ""))
                continue
            else:
                continue
            obj["label"] = shape.get("label", "")
            obj["id"] = f"cvat-{k}"
            if attrs:
                obj["attributes"] = attrs
            img.objects.append(_checked(obj, where, img))
        out.append(img)
    return out


def _cvat_value(text):
    if text in ("true", "false"):
        return text == "true"
    return text or ""


def _float(value, where: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ImportRefused(where, f"{value!r} is not a number") from exc
    if not math.isfinite(v):
        raise ImportRefused(where, "a coordinate is not a finite number (NaN or infinity)")
    return v


def _cvat_mask(shape, img: DatasetImage, where: str) -> dict:
    """CVAT's mask: row-major run lengths (starting with zeros) inside its left/top/width/height box."""
    import numpy as np

    from .geometry import rle_from_mask

    left, top = int(_float(shape.get("left"), where)), int(_float(shape.get("top"), where))
    w, h = int(_float(shape.get("width"), where)), int(_float(shape.get("height"), where))
    runs = [int(v) for v in (shape.get("rle") or "").replace(" ", "").split(",") if v]
    flat = np.zeros(w * h, dtype=np.uint8)
    pos, value = 0, 0
    for r in runs:
        flat[pos:pos + r] = value
        pos, value = pos + r, 1 - value
    full = np.zeros((img.height, img.width), dtype=np.uint8)
    full[top:top + h, left:left + w] = flat.reshape(h, w)[: img.height - top, : img.width - left]
    return rle_from_mask(full)


# --- Label Studio JSON -----------------------------------------------------------------------------------

def read_label_studio(tasks: list, *, source: str = "label_studio.json",
                      skeleton_points: list[str] | None = None) -> list[DatasetImage]:
    """Label Studio's JSON export (tasks with annotations, or predictions): percent coordinates to pixels.

    rectanglelabels (rotation -> rotated box), polygonlabels, choices, and keypointlabels: Label Studio
    stores one result per point, named by its label and tied to its person by ``parentID``; the points of
    one parent become one keypoints object, placed by name in ``skeleton_points`` (absent points v=0) or,
    without a skeleton, in the order given. The first annotation of each task is taken.
    """
    if not isinstance(tasks, list):
        raise ImportRefused(source, "a Label Studio export is a JSON list of tasks")
    out = []
    for t, task in enumerate(tasks):
        anns = task.get("annotations") or task.get("predictions") or []
        results = anns[0].get("result", []) if anns else []
        data = task.get("data") or {}
        file_name = posixpath.basename(str(data.get("image") or data.get("img") or f"task-{task.get('id', t)}"))
        width = height = 0
        for r in results:
            width, height = r.get("original_width") or width, r.get("original_height") or height
        img = DatasetImage(file_name, int(width or 0), int(height or 0), image_id=int(task.get("id") or t + 1))
        if results and (img.width < 1 or img.height < 1):
            raise ImportRefused(f"{source}: task {task.get('id', t)}", "results carry no original_width/height")
        groups: dict = {}  # keypoints by parent
        parents: dict = {}  # result id -> its label (a person's box)
        for k, r in enumerate(results):
            where = f"{source}: task {task.get('id', t)} result[{k}] ({r.get('id', '')})"
            value, kind = r.get("value") or {}, r.get("type")
            label = next(iter(value.get(kind) or []), "") if kind else ""
            sx, sy = img.width / 100.0, img.height / 100.0
            if kind == "rectanglelabels":
                x, y = _float(value.get("x"), where) * sx, _float(value.get("y"), where) * sy
                w, h = _float(value.get("width"), where) * sx, _float(value.get("height"), where) * sy
                rot = _float(value.get("rotation", 0), where)
                if rot:  # Label Studio rotates about the top-left corner
                    t_ = math.radians(rot)
                    cx = x + (w / 2) * math.cos(t_) - (h / 2) * math.sin(t_)
                    cy = y + (w / 2) * math.sin(t_) + (h / 2) * math.cos(t_)
                    obj = {"type": "rbox", "rbox": [cx, cy, w, h, rot]}
                else:
                    obj = {"type": "box", "bbox": [x, y, w, h]}
            elif kind == "polygonlabels":
                obj = {"type": "polygon", "points": [[_float(p[0], where) * sx, _float(p[1], where) * sy]
                                                     for p in value.get("points") or []]}
            elif kind == "keypointlabels":
                point = [_float(value.get("x"), where) * sx, _float(value.get("y"), where) * sy, 2]
                groups.setdefault(r.get("parentID") or r.get("id", k), []).append((label, point, where))
                continue
            elif kind == "choices":
                img.classes.extend(value.get("choices") or [])
                continue
            else:
                continue  # relations, text areas: not geometry
            obj["label"] = label
            obj["id"] = f"ls-{r.get('id', k)}"
            parents[r.get("id")] = label
            img.objects.append(_checked(obj, where, img))
        for parent, points in groups.items():
            where = points[0][2]
            if skeleton_points:
                kps = [[0, 0, 0] for _ in skeleton_points]
                for name, point, at in points:
                    if name not in skeleton_points:
                        raise ImportRefused(at, f"point {name!r} is not in the skeleton")
                    kps[skeleton_points.index(name)] = point
            else:
                kps = [point for _name, point, _at in points]
            obj = {"type": "keypoints", "keypoints": kps, "label": parents.get(parent, points[0][0]),
                   "id": f"ls-{parent}"}
            img.objects.append(_checked(obj, where, img, n_keypoints=len(skeleton_points or [])))
        out.append(img)
    return out


def iter_json_array(path: Path) -> Iterator:
    with open(path, encoding="utf-8") as fh:
        yield from json.load(fh)
