"""Image annotation: boxes, rotated boxes, polygons, polylines, keypoints, masks and whole-image classes.

The campaign chooses its tools, object classes, per-object attributes and (for keypoints) a skeleton.
An item is one stored image (storage key; the page gets a signed URL) with optional pre-annotations
(a model's objects, imported from COCO/YOLO/CVAT/Label Studio or the platform's JSON) that contributors
correct; the answer keeps which pre-annotated objects were kept, moved, relabelled or deleted.
Geometry is checked in ``geometry.py`` (inside the image, finite, polygons simple), consensus in
``matching.py`` (Hungarian matching on IoU/OKS, fusion, missing/extra counts).
"""
from __future__ import annotations

import math

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exports.layouts import layouts_for
from task_types.media_common import IMAGE_ITEM_PROPERTIES
from tasks.types.base import Aggregate, DemoCampaign, SchemaError, TaskType

from .geometry import COCO_PERSON, SHAPES, GeometryError, check_object, similarity_matrix
from .layouts import IMAGE_OBJECTS
from .matching import consensus_objects, object_class_dawid_skene, score_against_gold
from .tiles import build_pyramid, tile_names, wants_tiles

TOOLS = (*SHAPES, "classify")
ATTRIBUTE_KINDS = ("boolean", "text", "select")
MAX_OBJECTS = 2000
MAX_POINTS = 1000  # per polygon/polyline: the self-crossing test is quadratic
DEFAULT_ATTRIBUTES = [
    {"key": "occluded", "kind": "boolean", "label": "Bị che khuất", "label_en": "Occluded"},
    {"key": "truncated", "kind": "boolean", "label": "Bị cắt ở mép ảnh", "label_en": "Truncated"},
    {"key": "note", "kind": "text", "label": "Ghi chú", "label_en": "Note"},
]

_name = {"type": "string", "minLength": 1, "maxLength": 60}
OBJECT_SCHEMA = {
    "type": "object",
    "required": ["type"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "maxLength": 60},
        "pre_id": {"type": "string", "maxLength": 60},
        "type": {"enum": list(SHAPES)},
        "label": {"type": "string", "maxLength": 60},
        "bbox": {"type": "array"}, "rbox": {"type": "array"},
        "points": {"type": "array", "maxItems": MAX_POINTS},
        "keypoints": {"type": "array", "maxItems": 200},
        "rle": {"type": "object"},
        "score": {"type": "number"},
        "attributes": {"type": "object", "maxProperties": 20},
    },
}


# geometry.MESSAGES in the contributor's language (geometry.py has no Django): same codes, same parameters.
GEOMETRY_MESSAGES = {
    "not_number": _("coordinates must be numbers"),
    "not_finite": _("a coordinate is not a finite number (NaN or infinity)"),
    "outside": _("outside the image (%(width)s×%(height)s pixels)"),
    "unknown_shape": _("unknown shape %(kind)s; one of %(shapes)s"),
    "box_too_small": _("the box is smaller than 1×1 pixel"),
    "too_few_points": _("a %(kind)s needs at least %(least)s points"),
    "self_crossing": _("the polygon crosses itself (edges %(a)s and %(b)s)"),
    "no_area": _("the polygon has no area (its points are on one line)"),
    "skeleton_length": _("expected %(n)s points of the skeleton"),
    "visibility": _("visibility must be 0, 1 or 2"),
    "no_point": _("no point is placed"),
    "mask_size": _("a mask must be COCO RLE with size [%(height)s, %(width)s]"),
    "mask_runs": _("the runs do not cover the %(width)s×%(height)s image exactly"),
    "mask_empty": _("the mask is empty"),
    "rle_short": _("unreadable RLE (cut short)"),
    "rle_alphabet": _("unreadable RLE (a character outside COCO's alphabet)"),
    "count": _("expected %(n)s numbers"),
}
SHAPE_NAMES = {"polygon": _("polygon"), "polyline": _("polyline")}


def _refuse(exc: GeometryError) -> SchemaError:
    """The refusal in the active language, naming the object as geometry.py did."""
    params = dict(exc.params)
    if "kind" in params and params["kind"] in SHAPE_NAMES:
        params["kind"] = str(SHAPE_NAMES[params["kind"]])
    return SchemaError(exc.field, str(GEOMETRY_MESSAGES[exc.code]) % params)


class ImageAnnotation(TaskType):
    key = "image"
    label = _("Image annotation: boxes, polygons, keypoints, masks")
    template = "task_types/image/image.html"
    scripts = ("task_types/image/rle.js", "task_types/image/image.js")
    styles = ("task_types/image/image.css",)
    export_layouts = layouts_for(IMAGE_OBJECTS)
    dataset_import_formats = ("coco", "yolo", "cvat", "labelstudio")
    free_text_fields: list[str] | None = []  # objects and classes: no prose to score for authorship
    config_schema = {
        "type": "object",
        "required": ["tools", "labels"],
        "properties": {
            "tools": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(TOOLS)}},
            "labels": {"type": "array", "maxItems": 200, "items": {
                "type": "object", "required": ["name"], "additionalProperties": False,
                "properties": {"name": _name, "label": {"type": "string", "maxLength": 100},
                               "color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"}}}},
            "image_classes": {"type": "array", "maxItems": 100, "items": _name},
            "multi_class": {"type": "boolean"},
            "attributes": {"type": "array", "maxItems": 20, "items": {
                "type": "object", "required": ["key", "kind"], "additionalProperties": False,
                "properties": {"key": {"type": "string", "pattern": "^[a-z0-9_]{1,40}$"},
                               "kind": {"enum": list(ATTRIBUTE_KINDS)},
                               "label": {"type": "string", "maxLength": 100},
                               "label_en": {"type": "string", "maxLength": 100},
                               "options": {"type": "array", "items": _name}}}},
            "skeleton": {"type": "object", "required": ["points"], "properties": {
                "points": {"type": "array", "minItems": 1, "maxItems": 200, "items": _name},
                "edges": {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2,
                                                     "items": {"type": "integer", "minimum": 1}}},
                "sigmas": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}}}},
            "iou_threshold": {"type": "number", "minimum": 0.1, "maximum": 0.95},
            "max_objects": {"type": "integer", "minimum": 1, "maximum": MAX_OBJECTS},
            "require_objects": {"type": "boolean"},
        },
    }

    def default_config(self) -> dict:
        return {"tools": ["box", "polygon"], "labels": [{"name": "object"}], "image_classes": [],
                "multi_class": False, "attributes": DEFAULT_ATTRIBUTES, "iou_threshold": 0.5,
                "max_objects": 500, "require_objects": False}

    def validate_config(self, config: dict) -> dict:
        config = super().validate_config({k: v for k, v in (config or {}).items() if v is not None}
                                         if isinstance(config, dict) else config)
        names = [lab["name"] for lab in config["labels"]]
        if len(set(names)) != len(names):
            raise SchemaError("labels", gettext("Class names must be unique."))
        if any(t != "classify" for t in config["tools"]) and not names:
            raise SchemaError("labels", gettext("Object tools need at least one class."))
        if "classify" in config["tools"] and not config.get("image_classes"):
            raise SchemaError("image_classes", gettext("Whole-image classification needs its classes."))
        if "keypoints" in config["tools"]:
            skeleton = config.get("skeleton") or COCO_PERSON
            n = len(skeleton["points"])
            for i, edge in enumerate(skeleton.get("edges") or []):
                if max(edge) > n:
                    raise SchemaError(f"skeleton.edges[{i}]", gettext("An edge names a point the skeleton lacks."))
            if skeleton.get("sigmas") and len(skeleton["sigmas"]) != n:
                raise SchemaError("skeleton.sigmas", gettext("One sigma per skeleton point."))
            config["skeleton"] = skeleton
        return config

    # --- items -----------------------------------------------------------------------------------------
    def item_schema(self, config: dict) -> dict:
        return {
            "type": "object",
            "required": ["image"],
            "additionalProperties": False,
            "properties": {
                **IMAGE_ITEM_PROPERTIES,
                "pre_annotations": {"type": "array", "maxItems": MAX_OBJECTS, "items": OBJECT_SCHEMA},
                "pre_source": {"type": "string", "maxLength": 200},
                "file_name": {"type": "string", "maxLength": 250},
                "source": {"type": "string", "maxLength": 500},
                "tiles": {"type": "object"},  # set by the server (tiles.py); a given value is replaced
            },
        }

    def validate_item(self, payload, config: dict) -> dict:
        payload = super().validate_item(payload, config)
        from task_types.ocr.task import stored_image_size  # one reader of an uploaded image's size

        size = stored_image_size(payload["image"])
        if size is None:
            raise SchemaError("image", gettext("No stored image has the key %(key)s; upload it first.") % {
                "key": payload["image"]})
        payload["width"], payload["height"] = size
        payload.pop("tiles", None)  # the pyramid's shape is the server's, never an importer's
        if wants_tiles(*size):
            shape = build_pyramid(payload["image"])
            if shape:
                payload["tiles"] = shape
        payload["pre_annotations"] = self.check_objects(payload.get("pre_annotations") or [], config, size,
                                                        field="pre_annotations", known_labels=False)
        for i, obj in enumerate(payload["pre_annotations"]):
            obj.setdefault("id", f"p{i + 1}")
        return payload

    def media_keys(self, item_payload: dict) -> dict[str, str]:
        """The image, and for a large one its deep-zoom tiles (tiles.py): the page draws only visible tiles."""
        keys = {"image": item_payload["image"]}
        if item_payload.get("tiles"):
            keys.update(tile_names(item_payload["image"], int(item_payload["width"]), int(item_payload["height"])))
        return keys

    def preview_media_keys(self, item_payload: dict) -> dict[str, str]:
        return {"image": item_payload["image"]}  # the review page shows the image, never its tiles

    # --- answers ---------------------------------------------------------------------------------------
    def annotation_schema(self, config: dict) -> dict:
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "objects": {"type": "array", "maxItems": config.get("max_objects", 500), "items": OBJECT_SCHEMA},
                "classes": {"type": "array", "maxItems": 100, "items": _name},
                "pre_diff": {"type": "object"},  # recomputed on the server; a client's value is ignored
                "size": {"type": "array"},  # set on the server from the item
            },
        }

    def check_objects(self, objects: list, config: dict, size: tuple[int, int], *, field: str,
                      known_labels: bool = True) -> list[dict]:
        """Every object checked (geometry, tool allowed, class known, attributes declared), or a SchemaError."""
        width, height = size
        skeleton = config.get("skeleton") or {}
        labels = {lab["name"] for lab in config["labels"]}
        attributes = {a["key"]: a for a in config.get("attributes") or []}
        out = []
        for i, obj in enumerate(objects):
            where = f"{field}[{i}]"
            if known_labels and obj.get("type") not in config["tools"]:
                raise SchemaError(f"{where}.type", gettext("This campaign does not use the %(tool)s tool.") % {
                    "tool": obj.get("type")})
            if known_labels and obj.get("label", "") not in labels:
                raise SchemaError(f"{where}.label", gettext("Unknown class %(label)r.") % {"label": obj.get("label")})
            try:
                checked = check_object(obj, where, width, height, n_keypoints=len(skeleton.get("points") or []))
            except GeometryError as exc:
                raise _refuse(exc) from exc
            for key, value in (obj.get("attributes") or {}).items():
                spec = attributes.get(key)
                if spec is None:
                    raise SchemaError(f"{where}.attributes.{key}", gettext("Unknown attribute."))
                ok = (isinstance(value, bool) if spec["kind"] == "boolean" else
                      isinstance(value, str) and len(value) <= 500 and
                      (spec["kind"] == "text" or value in (spec.get("options") or [])))
                if not ok:
                    raise SchemaError(f"{where}.attributes.{key}", gettext("Invalid value for this attribute."))
            checked.setdefault("id", f"o{i + 1}")
            out.append(checked)
        return out

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        size = (item_payload.get("width"), item_payload.get("height"))
        if not all(size):
            raise SchemaError("image", gettext("This item's image is missing; report a problem with it."))
        payload["objects"] = self.check_objects(payload.get("objects") or [], config, size, field="objects")
        classes = payload.get("classes") or []
        allowed = set(config.get("image_classes") or [])
        for i, name in enumerate(classes):
            if name not in allowed:
                raise SchemaError(f"classes[{i}]", gettext("Unknown image class %(c)r.") % {"c": name})
        if "classify" in config["tools"] and not classes:
            raise SchemaError("classes", gettext("Choose a class for the whole image."))
        if len(classes) > 1 and not config.get("multi_class"):
            raise SchemaError("classes", gettext("Choose one class for the whole image."))
        payload["classes"] = classes
        payload["size"] = [int(size[0]), int(size[1])]
        if config.get("require_objects") and not payload["objects"]:
            raise SchemaError("objects", gettext("Draw at least one object."))
        payload["pre_diff"] = pre_annotation_diff(item_payload.get("pre_annotations") or [], payload["objects"],
                                                  size)
        return payload

    # --- consensus -------------------------------------------------------------------------------------
    def _sigmas(self, config):
        return (config.get("skeleton") or {}).get("sigmas")

    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None,
                  decided_labels: list[tuple[str, float]] | None = None) -> Aggregate:
        width, height = _answers_size(answers)
        result = consensus_objects([a.get("objects") or [] for a in answers], weights or [1.0] * len(answers),
                                   width, height, threshold=config.get("iou_threshold", 0.5),
                                   sigmas=self._sigmas(config), decided_labels=decided_labels)
        agreement = result["agreement"]
        classes_result = {}
        if config.get("image_classes"):
            tally: dict[str, float] = {}
            for a, wi in zip(answers, weights or [1.0] * len(answers), strict=True):
                for c in a.get("classes") or []:
                    tally[c] = tally.get(c, 0.0) + wi
            total = sum(weights or [1.0] * len(answers))
            chosen = sorted(c for c, v in tally.items() if v / total > 0.5) if config.get("multi_class") else (
                [max(tally, key=tally.get)] if tally else [])
            share = max(tally.values()) / total if tally else 0.0
            classes_result = {"classes": chosen}
            agreement = min(agreement, share)
        result.update(classes_result)
        result["size"] = [width, height]
        return Aggregate(result=result, confidence=agreement, agreement=agreement, method="hungarian_iou_fusion")

    def campaign_aggregates(self, answers_by_item, weights_by_item, *, config: dict):
        """Object classes by Dawid-Skene over the whole campaign (matching.object_class_dawid_skene): each
        matched object is one unit, so a careful contributor outvotes careless ones on the classes they
        confuse. Geometry, support and which objects are kept stay the trust-weighted per-item consensus.
        None (the per-item vote) when the campaign has too few object labels for a fit."""
        threshold, sigmas = config.get("iou_threshold", 0.5), self._sigmas(config)
        items = []
        for answers in answers_by_item:
            payloads = [a for _w, a in answers]
            width, height = _answers_size(payloads) if payloads else (1, 1)
            items.append({"answers": [p.get("objects") or [] for p in payloads], "workers": [w for w, _a in answers],
                          "width": width, "height": height})
        classes = [label["name"] for label in config.get("labels") or []]
        decided = object_class_dawid_skene(items, classes, threshold=threshold, sigmas=sigmas)
        if decided is None:
            return None
        out = []
        for answers, weights, labels in zip(answers_by_item, weights_by_item, decided, strict=True):
            if not answers:
                out.append(None)
                continue
            aggregate = self.aggregate([a for _w, a in answers], config=config, weights=weights or None,
                                       decided_labels=labels)
            aggregate.method = "object_dawid_skene"
            out.append(aggregate)
        return out

    def gold_scores(self, answer: dict, gold: dict, *, config: dict) -> dict:
        width, height = _answers_size([gold, answer])
        return score_against_gold(answer.get("objects") or [], gold.get("objects") or [], width, height,
                                  threshold=config.get("iou_threshold", 0.5), sigmas=self._sigmas(config))

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        """Correct when precision and recall reach 0.8 against the gold objects and the image classes agree."""
        if sorted(answer.get("classes") or []) != sorted(gold.get("classes") or []) and gold.get("classes"):
            return False
        scores = self.gold_scores(answer, gold, config=config)
        return scores["precision"] >= 0.8 and scores["recall"] >= 0.8

    def agrees_with_consensus(self, answer: dict, result: dict, *, config: dict) -> bool | None:
        try:
            return self.is_correct(answer, result, config=config)
        except (KeyError, TypeError, ValueError, IndexError):
            return None

    # Whole-image classes plug into the campaign's Dawid-Skene (one categorical question).
    def label_space(self, config: dict) -> dict[str, list[str]]:
        if "classify" in config.get("tools", []) and config.get("image_classes") and not config.get("multi_class"):
            return {"image_class": list(config["image_classes"])}
        return {}

    def categorical_labels(self, payload: dict, config: dict) -> dict[str, int]:
        space = self.label_space(config).get("image_class")
        classes = payload.get("classes") or []
        if space and classes and classes[0] in space:
            return {"image_class": space.index(classes[0])}
        return {}

    def apply_campaign_labels(self, aggregate: Aggregate, labels, *, config: dict) -> Aggregate:
        aggregate = super().apply_campaign_labels(aggregate, labels, config=config)
        if "image_class" in labels:
            aggregate.result["classes"] = [labels["image_class"][0]]
        return aggregate

    # --- dataset import ----------------------------------------------------------------------------------
    def import_dataset(self, *, campaign, fmt: str, annotations, annotations_name: str, media=None,
                       uploaded_by=None) -> int:
        """COCO / Label Studio JSON, CVAT XML or a YOLO zip with a zip of images (datasets.py), all or nothing."""
        from assets.decoding import MediaRefused

        from .datasets import import_dataset_upload
        from .formats import ImportRefused

        try:
            return import_dataset_upload(campaign=campaign, fmt=fmt, annotations=annotations,
                                         annotations_name=annotations_name, images=media, uploaded_by=uploaded_by)
        except ImportRefused as exc:
            raise SchemaError(exc.where, exc.message) from exc
        except MediaRefused:
            raise
        except (UnicodeDecodeError, KeyError, TypeError) as exc:  # a file of the wrong shape for its format
            raise SchemaError(annotations_name, f"not a {fmt} dataset file ({type(exc).__name__}: {exc})"[:300]) from exc

    # --- demo ------------------------------------------------------------------------------------------
    def demo(self) -> list[DemoCampaign]:
        from .demo import demo_campaigns

        return demo_campaigns(self)


def _answers_size(answers: list[dict]) -> tuple[int, int]:
    """The image size the objects were drawn on: masks carry it, else the largest extent (consensus only
    compares answers of one item, so any consistent frame works; masks need the true one)."""
    w = h = 1
    for a in answers:
        if isinstance(a.get("size"), list) and len(a["size"]) == 2:
            return int(a["size"][0]), int(a["size"][1])
        for o in a.get("objects") or []:
            if o.get("type") == "mask":
                return int(o["rle"]["size"][1]), int(o["rle"]["size"][0])
            from .geometry import bbox_of

            b = bbox_of(o)
            w, h = max(w, math.ceil(b[0] + b[2]) + 1), max(h, math.ceil(b[1] + b[3]) + 1)
    return w, h


def pre_annotation_diff(pre: list[dict], objects: list[dict], size: tuple[int, int]) -> dict:
    """What the contributor did to the model's objects: kept as is, moved, relabelled, deleted, added.

    An answer object carries ``pre_id`` when the page started it from a pre-annotation; it is "kept"
    when its geometry still overlaps the original at IoU/OKS >= 0.95.
    """
    if not pre:
        return {}
    by_id = {p.get("id"): p for p in pre}
    kept = moved = relabelled = 0
    used = set()
    for obj in objects:
        origin = by_id.get(obj.get("pre_id"))
        if origin is None:
            continue
        used.add(obj["pre_id"])
        same = obj["type"] == origin["type"] and similarity_matrix([obj], [origin], *size)[0, 0] >= 0.95
        if obj.get("label", "") != origin.get("label", ""):
            relabelled += 1
        if same:
            kept += 1
        else:
            moved += 1
    return {"kept": kept, "moved": moved, "relabelled": relabelled,
            "deleted": sorted(str(i) for i in by_id if i not in used),
            "added": sum(1 for o in objects if o.get("pre_id") not in by_id)}
