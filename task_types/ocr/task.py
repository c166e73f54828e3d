"""OCR of Vietnamese documents: full-page text, regions (rectangles / 4-point polygons) or form fields.

The item is one stored image (a storage key, never a public path) with its pixel size and optional
pre-detected regions; the page gets a short-lived signed URL for it. Boxes are image pixel
coordinates and must lie inside the image; all text is stored NFC. A Vietnamese transcription
without any diacritics is refused unless the contributor confirms it (names can lack them).
"""
from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from assets.models import MediaAsset
from consensus.text import text_consensus, text_similarity
from exports.layouts import layouts_for
from task_types.media_common import IMAGE_ITEM_PROPERTIES, check_diacritics
from tasks.types.base import Aggregate, DemoCampaign, SchemaError, TaskType

from .demo import render_demo_document
from .layouts import OCR as OCR_LAYOUT

MODES = ("full_page", "regions", "fields")
EDGE_TOLERANCE = 0.5  # pixels: rounding on the page may land half a pixel outside
DEFAULT_FIELDS = [
    {"key": "ho_va_ten", "label": "Họ và tên", "label_en": "Full name", "required": True},
    {"key": "ngay_sinh", "label": "Ngày sinh", "label_en": "Date of birth", "required": True},
    {"key": "dia_chi", "label": "Địa chỉ", "label_en": "Address", "required": False},
]

_number = {"type": "number", "minimum": -1e6, "maximum": 1e6}
_point = {"type": "array", "minItems": 2, "maxItems": 2, "items": _number}
REGION_SCHEMA = {
    "type": "object",
    "required": ["shape"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "maxLength": 60},
        "shape": {"enum": ["rect", "polygon"]},
        "x": _number, "y": _number, "w": _number, "h": _number,
        "points": {"type": "array", "minItems": 4, "maxItems": 4, "items": _point},
        "text": {"type": "string", "maxLength": 5000},
        "label": {"type": "string", "maxLength": 60},
    },
}


# --- geometry ------------------------------------------------------------------------------------------


def region_bbox(region: dict) -> tuple[float, float, float, float]:
    if region["shape"] == "rect":
        return region["x"], region["y"], region["x"] + region["w"], region["y"] + region["h"]
    xs = [p[0] for p in region["points"]]
    ys = [p[1] for p in region["points"]]
    return min(xs), min(ys), max(xs), max(ys)


def polygon_area(points: list[list[float]]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True))) / 2


def iou(a: tuple, b: tuple) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def check_region(region: dict, field: str, width: int, height: int) -> dict:
    """Normalise one region (rounded coordinates) and refuse it when degenerate or outside the image."""
    outside = SchemaError(field, gettext("The box is outside the image (%(w)d×%(h)d pixels).") % {
        "w": width, "h": height})
    if region["shape"] == "rect":
        for name in ("x", "y", "w", "h"):
            if name not in region:
                raise SchemaError(f"{field}.{name}", gettext("This field is required."))
        out = {**region, **{k: round(float(region[k]), 1) for k in ("x", "y", "w", "h")}}
        out.pop("points", None)
        if out["w"] < 1 or out["h"] < 1:
            raise SchemaError(field, gettext("The box is too small (at least 1×1 pixel)."))
        if out["x"] < -EDGE_TOLERANCE or out["y"] < -EDGE_TOLERANCE or out["x"] + out["w"] > width + EDGE_TOLERANCE \
                or out["y"] + out["h"] > height + EDGE_TOLERANCE:
            raise outside
        return out
    if "points" not in region:
        raise SchemaError(f"{field}.points", gettext("This field is required."))
    points = [[round(float(x), 1), round(float(y), 1)] for x, y in region["points"]]
    if any(x < -EDGE_TOLERANCE or y < -EDGE_TOLERANCE or x > width + EDGE_TOLERANCE or y > height + EDGE_TOLERANCE
           for x, y in points):
        raise outside
    if polygon_area(points) < 1:
        raise SchemaError(field, gettext("The polygon has no area: its four points must not be on one line."))
    out = {k: v for k, v in region.items() if k not in ("x", "y", "w", "h")}
    out["points"] = points
    return out


DEMO_FORMS = [  # the demo's filled-in forms: what the images show and the qualification test's gold
    {"ho_va_ten": "Nguyễn Thị Hương", "ngay_sinh": "12/08/1990", "dia_chi": "Số 5 Lý Thường Kiệt, Huế"},
    {"ho_va_ten": "Trần Văn Đức", "ngay_sinh": "01/01/1985", "dia_chi": "Phường Bến Nghé, Quận 1, TP.HCM"},
    {"ho_va_ten": "Lê Hoàng Yến", "ngay_sinh": "30/04/2001", "dia_chi": "Thôn Đông, xã Yên Phong, Bắc Ninh"},
]

class OCR(TaskType):
    key = "ocr"
    copies_by_design = True  # a transcription copies the item by design: no authorship signal applies
    label = _("OCR: transcribe a document")
    template = "task_types/ocr/ocr.html"
    scripts = ("task_types/media_common/vi_input.js", "task_types/ocr/ocr.js")
    styles = ("task_types/media_common/media.css", "task_types/ocr/ocr.css")
    export_layouts = layouts_for(OCR_LAYOUT)  # image file in the archive, consensus text, boxes in pixels
    config_schema = {
        "type": "object",
        "required": ["mode"],
        "properties": {
            "mode": {"enum": list(MODES)},
            "shapes": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": ["rect", "polygon"]}},
            "fields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "label"],
                    "properties": {
                        "key": {"type": "string", "pattern": "^[a-z0-9_]{1,40}$"},
                        "label": {"type": "string", "minLength": 1, "maxLength": 100},
                        "label_en": {"type": "string", "maxLength": 100},
                        "required": {"type": "boolean"},
                    },
                },
            },
            "language": {"type": "string", "maxLength": 10},
            "warn_no_diacritics": {"type": "boolean"},
            "max_regions": {"type": "integer", "minimum": 1, "maximum": 500},
        },
    }

    def default_config(self) -> dict:
        return {"mode": "full_page", "shapes": ["rect", "polygon"], "fields": [], "language": "vi",
                "warn_no_diacritics": True, "max_regions": 100}

    def validate_config(self, config: dict) -> dict:
        config = super().validate_config(config)
        if config["mode"] == "fields":
            if not config["fields"]:
                config["fields"] = DEFAULT_FIELDS
            keys = [f["key"] for f in config["fields"]]
            if len(set(keys)) != len(keys):
                raise SchemaError("fields", gettext("Field keys must be unique."))
        return config

    # --- items -----------------------------------------------------------------------------------------
    def item_schema(self, config: dict) -> dict:
        return {
            "type": "object",
            "required": ["image"],
            "additionalProperties": False,
            "properties": {
                **IMAGE_ITEM_PROPERTIES,
                "regions": {"type": "array", "maxItems": 500, "items": REGION_SCHEMA},
                "doc_type": {"type": "string", "maxLength": 100},
                "language": {"type": "string", "maxLength": 10},
                "source": {"type": "string", "maxLength": 500},
            },
        }

    def validate_item(self, payload, config: dict) -> dict:
        payload = super().validate_item(payload, config)
        if ".." in payload["image"].split("/"):
            raise SchemaError("image", gettext("Invalid media key."))
        size = stored_image_size(payload["image"])
        if size is None:
            raise SchemaError("image", gettext("No stored image has the key %(key)s; upload it first.") % {
                "key": payload["image"]})
        payload["width"], payload["height"] = size
        payload["regions"] = [
            check_region(r, f"regions[{i}]", size[0], size[1]) for i, r in enumerate(payload.get("regions", []))
        ]
        return payload

    def media_keys(self, item_payload: dict) -> dict[str, str]:
        return {"image": item_payload["image"]}

    # --- answers ---------------------------------------------------------------------------------------
    def annotation_schema(self, config: dict) -> dict:
        common = {"confirmed_no_diacritics": {"type": "boolean"}}
        mode = config["mode"]
        if mode == "full_page":
            return {"type": "object", "required": ["text"], "additionalProperties": False,
                    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 50000}, **common}}
        if mode == "regions":
            region = {**REGION_SCHEMA, "required": ["shape", "text"]}
            region["properties"] = {**REGION_SCHEMA["properties"],
                                    "text": {"type": "string", "minLength": 1, "maxLength": 5000}}
            if config.get("shapes"):
                region["properties"]["shape"] = {"enum": config["shapes"]}
            return {"type": "object", "required": ["regions"], "additionalProperties": False,
                    "properties": {"regions": {"type": "array", "minItems": 1,
                                               "maxItems": config.get("max_regions", 100), "items": region},
                                   **common}}
        fields = {f["key"]: {"type": "string", "maxLength": 2000} for f in config["fields"]}
        return {"type": "object", "required": ["fields"], "additionalProperties": False,
                "properties": {"fields": {"type": "object", "additionalProperties": False, "properties": fields,
                                          "required": [f["key"] for f in config["fields"] if f.get("required")]},
                               **common}}

    def validate_annotation(self, payload, *, config: dict, item_payload: dict, view: dict) -> dict:
        payload = super().validate_annotation(payload, config=config, item_payload=item_payload, view=view)
        confirmed = bool(payload.get("confirmed_no_diacritics"))
        mode = config["mode"]
        if mode == "full_page":
            payload["text"] = payload["text"].strip()
            if not payload["text"]:
                raise SchemaError("text", gettext("Please type the text of the document."))
            check_diacritics(payload["text"], "text", config=config, confirmed=confirmed)
        elif mode == "regions":
            size = (item_payload.get("width"), item_payload.get("height"))
            if not all(size):  # an item stored before its size was recorded
                size = stored_image_size(item_payload.get("image", "")) or (None, None)
            if not all(size):
                raise SchemaError("image", gettext("This item's image is missing; report a problem with it."))
            width, height = size
            payload["regions"] = [check_region(r, f"regions[{i}]", width, height)
                                  for i, r in enumerate(payload["regions"])]
            for i, region in enumerate(payload["regions"]):
                region["text"] = region["text"].strip()
                if not region["text"]:
                    raise SchemaError(f"regions[{i}].text", gettext("Please type the text of this region."))
            check_diacritics(" ".join(r["text"] for r in payload["regions"]), "regions[0].text",
                             config=config, confirmed=confirmed)
        else:
            payload["fields"] = {k: v.strip() for k, v in payload["fields"].items()}
            for spec in config["fields"]:
                if spec.get("required") and not payload["fields"].get(spec["key"]):
                    raise SchemaError(f"fields.{spec['key']}", gettext("This field is required."))
            texts = [v for v in payload["fields"].values() if v]
            if not texts:
                raise SchemaError("fields", gettext("Please fill in at least one field."))
            first = next(k for k, v in payload["fields"].items() if v)
            check_diacritics(" ".join(texts), f"fields.{first}", config=config, confirmed=confirmed)
        return payload

    # --- consensus -------------------------------------------------------------------------------------
    def aggregate(self, answers: list[dict], *, config: dict, weights: list[float] | None = None) -> Aggregate:
        mode = config["mode"]
        if mode == "full_page":
            text, confidence, agreement, method = text_consensus([a.get("text", "") for a in answers], weights)
            return Aggregate(result={"text": text}, confidence=confidence, agreement=agreement, method=method)
        if mode == "fields":
            result, confidences, agreements, method = {}, [], [], "medoid_text"
            for spec in config["fields"]:
                text, confidence, agreement, method = text_consensus(
                    [a.get("fields", {}).get(spec["key"], "") for a in answers], weights)
                result[spec["key"]] = text
                confidences.append(confidence)
                agreements.append(agreement)
            return Aggregate(result={"fields": result}, confidence=min(confidences, default=0.0),
                             agreement=sum(agreements) / len(agreements) if agreements else 0.0,
                             method=f"{method}_per_field")  # one method for every field: it follows the count
        return self._aggregate_regions(answers, weights)

    def _aggregate_regions(self, answers: list[dict], weights: list[float] | None) -> Aggregate:
        """Match regions across answers by box overlap (IoU >= 0.5); keep those most contributors drew."""
        clusters: list[dict] = []
        for ai, answer in enumerate(answers):
            for region in answer.get("regions", []):
                box = region_bbox(region)
                best, best_iou = None, 0.5
                for cluster in clusters:
                    overlap = iou(box, cluster["box"])
                    if ai not in cluster["answers"] and overlap >= best_iou:
                        best, best_iou = cluster, overlap
                if best is None:
                    best = {"box": box, "members": [], "answers": set()}
                    clusters.append(best)
                best["members"].append(region)
                best["answers"].add(ai)
                best.setdefault("weights", []).append(weights[ai] if weights else 1.0)
        n = len(answers)
        kept, scores, methods = [], [], set()
        for cluster in clusters:
            support = len(cluster["answers"]) / n
            members = cluster["members"]
            text, text_conf, _agreement, text_method = text_consensus([m["text"] for m in members], cluster["weights"])
            methods.add(text_method)
            scores.append(support * text_conf)
            if support <= 0.5 and n > 1:
                continue
            if all(m["shape"] == "rect" for m in members):
                def median(name, members=members):
                    values = sorted(m[name] for m in members)
                    return values[len(values) // 2]

                region = {"shape": "rect", "x": median("x"), "y": median("y"), "w": median("w"), "h": median("h")}
            else:
                boxes = [region_bbox(m) for m in members]
                centre = max(range(len(members)), key=lambda i: sum(iou(boxes[i], b) for b in boxes))
                region = {k: v for k, v in members[centre].items() if k != "text"}
            region["text"] = text
            region["support"] = round(support, 3)
            kept.append(region)
        kept.sort(key=lambda r: (region_bbox(r)[1], region_bbox(r)[0]))
        confidence = sum(scores) / len(scores) if scores else 0.0
        return Aggregate(result={"regions": kept}, confidence=confidence, agreement=confidence,
                         method="iou_match_rover_text" if "rover_text" in methods else "iou_match_medoid_text")

    def is_correct(self, answer: dict, gold: dict, *, config: dict) -> bool:
        mode = config["mode"]
        if mode == "full_page":
            return text_similarity(answer.get("text", ""), gold.get("text", "")) >= 0.9
        if mode == "fields":
            return all(text_similarity(answer.get("fields", {}).get(k, ""), v) >= 0.9
                       for k, v in gold.get("fields", {}).items())
        for gold_region in gold.get("regions", []):
            box = region_bbox(gold_region)
            if not any(iou(box, region_bbox(r)) >= 0.5 and text_similarity(r["text"], gold_region["text"]) >= 0.8
                       for r in answer.get("regions", [])):
                return False
        return True

    # --- demo ------------------------------------------------------------------------------------------
    def demo_qualification(self) -> DemoCampaign:
        """Type in the demo's three forms (each field within the type's own text tolerance)."""
        spec = next(s for s in self.demo() if s.config.get("mode") == "fields")
        items = [{"payload": entry["payload"], "gold_answer": {"fields": dict(values)}}
                 for entry, values in zip(spec.items, DEMO_FORMS, strict=True)]
        return DemoCampaign(name=spec.name, config=spec.config, instructions=spec.instructions, items=items)

    def demo(self) -> list[DemoCampaign]:
        notes = [
            ["Hà Nội, ngày 3 tháng 5 năm 2024", "Con chào bố mẹ,", "Dạo này trời nồm ẩm quá,",
             "con vẫn khỏe và đi học đều."],
            ["Mẹ ơi, chiều nay con về muộn.", "Cơm để phần con trong nồi nhé.", "Nhớ tưới cây ngoài ban công ạ."],
            ["Danh sách cần mua:", "- hai cân gạo nếp", "- một chục trứng vịt", "- nước mắm Phú Quốc"],
        ]
        receipts = [
            ["CỬA HÀNG TẠP HÓA BÌNH MINH", "Bánh mì thịt nướng   25.000đ", "Cà phê sữa đá   20.000đ",
             "Tổng cộng:   45.000đ"],
            ["NHÀ THUỐC AN KHANG", "Thuốc hạ sốt   32.000đ", "Khẩu trang y tế   15.000đ",
             "Cảm ơn quý khách!"],
        ]
        forms = DEMO_FORMS
        full_items, region_items, field_items = [], [], []
        for i, lines in enumerate(notes):
            key, width, height, _polys = render_demo_document(f"demo/ocr/note-{i + 1}.png", lines, handwriting=True,
                                                              seed=i)
            full_items.append({"payload": {"image": key, "doc_type": "handwritten_note", "source": "demo"},
                               "external_id": f"note-{i + 1}"})
        for i, lines in enumerate(receipts):
            key, width, height, polys = render_demo_document(f"demo/ocr/receipt-{i + 1}.png", lines,
                                                             handwriting=False, seed=10 + i)
            regions = [{"id": f"r{j + 1}", "shape": "polygon", "points": p} for j, p in enumerate(polys)]
            region_items.append({"payload": {"image": key, "doc_type": "receipt", "regions": regions,
                                             "source": "demo"}, "external_id": f"receipt-{i + 1}"})
        for i, values in enumerate(forms):
            lines = ["TỜ KHAI THÔNG TIN CÁ NHÂN", f"Họ và tên: {values['ho_va_ten']}",
                     f"Ngày sinh: {values['ngay_sinh']}", f"Địa chỉ: {values['dia_chi']}"]
            key, width, height, _polys = render_demo_document(f"demo/ocr/form-{i + 1}.png", lines, handwriting=i % 2 == 1,
                                                              seed=20 + i)
            field_items.append({"payload": {"image": key, "doc_type": "form", "source": "demo"},
                                "external_id": f"form-{i + 1}"})
        guide = (
            "## Hướng dẫn\n\nGõ lại **đúng từng chữ** trong ảnh, **có dấu** đầy đủ. Phóng to bằng nút +/− hoặc "
            "hai ngón tay; kéo để di chuyển ảnh. Bàn phím không gõ được dấu? Dùng hàng nút dấu bên dưới ô nhập.\n\n"
        )
        return [
            DemoCampaign(
                name="OCR: chép lại thư viết tay", config={**self.default_config(), "mode": "full_page"},
                instructions=guide + "Giữ nguyên xuống dòng như trong ảnh.", items=full_items,
                extra={"overlap": 2, "max_overlap": 3},
            ),
            DemoCampaign(
                name="OCR: khoanh vùng và chép chữ trên hóa đơn",
                config={**self.default_config(), "mode": "regions"},
                instructions=guide + "Chỉnh hoặc vẽ khung (chữ nhật: phím R, đa giác 4 điểm: phím P) quanh "
                "**mỗi dòng chữ**, rồi gõ nội dung của dòng đó.",
                items=region_items, extra={"overlap": 2, "max_overlap": 3},
            ),
            DemoCampaign(
                name="OCR: nhập thông tin từ tờ khai",
                config={**self.default_config(), "mode": "fields", "fields": DEFAULT_FIELDS},
                instructions=guide + "Điền từng trường đúng như trên tờ khai (ví dụ ngày sinh: 12/08/1990).",
                items=field_items, extra={"overlap": 2, "max_overlap": 3},
            ),
        ]



# --- stored images ------------------------------------------------------------------------------------


def stored_image_size(key: str) -> tuple[int, int] | None:
    """Pixel size of an uploaded image (decoded at upload), None when no image was uploaded under this key."""
    asset = MediaAsset.objects.filter(key=key, kind=MediaAsset.Kind.IMAGE).only("info").first()
    if asset is None or not asset.info.get("width"):
        return None
    return int(asset.info["width"]), int(asset.info["height"])
