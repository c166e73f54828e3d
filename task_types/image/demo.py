"""Demo content for image annotation: street scenes, shop shelves and handwritten forms drawn with Pillow.

Every picture is made here (no download, no licence question); the drawing also returns the true
objects, used as the shelves' model pre-annotations (deliberately nudged, for contributors to correct)
and as gold answers.
"""
from __future__ import annotations

import io
import random

from assets.models import MediaAsset
from assets.services import store_demo_media
from tasks.types.base import DemoCampaign

from .geometry import COCO_PERSON


def _store(key: str, image, objects: list[dict]) -> tuple[str, list[dict]]:
    def build():
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        return out.getvalue(), "image/png", {"width": image.size[0], "height": image.size[1], "format": "PNG",
                                             "objects": objects}

    asset = store_demo_media(key, kind=MediaAsset.Kind.IMAGE, build=build, keep=lambda a: "objects" in a.info)
    return key, asset.info["objects"]


def street_scene(seed: int):
    """A road with cars, a pedestrian (with its 17 keypoints) and a traffic light; returns (image, objects)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    w, h = 960, 540
    img = Image.new("RGB", (w, h), (150, 200, 235))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 300, w, h], fill=(90, 90, 95))
    for x in range(0, w, 120):
        d.rectangle([x + 20, 410, x + 80, 420], fill=(240, 240, 240))
    d.rectangle([0, 260, w, 300], fill=(170, 160, 140))
    objects = []
    for i in range(rng.randint(2, 3)):
        x = 60 + i * 300 + rng.randint(0, 60)
        y = 330 + rng.randint(0, 60)
        cw, ch = rng.randint(170, 220), rng.randint(70, 90)
        color = tuple(rng.randint(40, 220) for _ in range(3))
        d.rounded_rectangle([x, y, x + cw, y + ch], radius=14, fill=color)
        d.rectangle([x + 30, y - 35, x + cw - 40, y + 5], fill=tuple(max(0, c - 40) for c in color))
        for wx in (x + 35, x + cw - 35):
            d.ellipse([wx - 18, y + ch - 18, wx + 18, y + ch + 18], fill=(20, 20, 20))
        objects.append({"type": "box", "label": "car", "bbox": [x, y - 35, cw, ch + 53]})
    px = rng.randint(600, 820)
    py = 150
    kp = [[px, py], [px - 5, py - 5], [px + 5, py - 5], [px - 10, py], [px + 10, py], [px - 22, py + 35],
          [px + 22, py + 35], [px - 32, py + 75], [px + 32, py + 75], [px - 35, py + 110], [px + 35, py + 110],
          [px - 14, py + 115], [px + 14, py + 115], [px - 16, py + 170], [px + 16, py + 170], [px - 18, py + 225],
          [px + 18, py + 225]]
    for a, b in COCO_PERSON["edges"]:
        d.line([tuple(kp[a - 1]), tuple(kp[b - 1])], fill=(30, 30, 120), width=9)
    d.ellipse([px - 16, py - 20, px + 16, py + 14], fill=(230, 190, 160))
    objects.append({"type": "keypoints", "label": "person", "keypoints": [[x, y, 2] for x, y in kp]})
    objects.append({"type": "box", "label": "person", "bbox": [px - 40, py - 22, 80, 252]})
    d.rectangle([40, 90, 70, 180], fill=(30, 30, 30))
    for k, col in enumerate([(220, 40, 40), (230, 200, 40), (40, 200, 80)]):
        d.ellipse([45, 95 + k * 28, 65, 115 + k * 28], fill=col if k == seed % 3 else (70, 70, 70))
    d.rectangle([52, 180, 58, 300], fill=(60, 60, 60))
    objects.append({"type": "polygon", "label": "traffic_light", "points": [[40, 90], [70, 90], [70, 180], [40, 180]]})
    return img, objects


def shop_shelf(seed: int):
    """Shelves of boxes, bottles and cans; every product one box."""
    from PIL import Image, ImageDraw

    rng = random.Random(100 + seed)
    w, h = 800, 600
    img = Image.new("RGB", (w, h), (235, 228, 215))
    d = ImageDraw.Draw(img)
    objects = []
    for row in range(3):
        base = 180 + row * 190
        d.rectangle([0, base, w, base + 14], fill=(120, 80, 50))
        x = 20
        while x < w - 90:
            kind = rng.choice(["bottle", "box", "can"])
            pw, ph = {"bottle": (40, 130), "box": (90, 110), "can": (45, 70)}[kind]
            color = tuple(rng.randint(30, 230) for _ in range(3))
            y = base - ph
            if kind == "bottle":
                d.rectangle([x, y + 35, x + pw, base], fill=color)
                d.rectangle([x + 13, y, x + pw - 13, y + 35], fill=color)
            elif kind == "can":
                d.rounded_rectangle([x, y, x + pw, base], radius=8, fill=color)
            else:
                d.rectangle([x, y, x + pw, base], fill=color)
                d.rectangle([x + 10, y + 20, x + pw - 10, y + 45], fill=(250, 250, 250))
            objects.append({"type": "box", "label": kind, "bbox": [x, y, pw, ph]})
            x += pw + rng.randint(8, 30)
    return img, objects


def handwritten_form(seed: int):
    """A form whose filled-in fields are regions to outline (polygons) and classify."""
    from PIL import Image

    from task_types.ocr.demo import render_document

    lines = [["PHIẾU ĐĂNG KÝ", "Họ tên: Phạm Minh Anh", "Điện thoại: 0912 345 678", "Chữ ký: M.Anh"],
             ["ĐƠN XIN NGHỈ PHÉP", "Người làm đơn: Vũ Thị Lan", "Từ ngày 02/03 đến 05/03", "Ký tên: Lan"]][seed % 2]
    data, _w, _h, polys = render_document(lines, handwriting=True, seed=40 + seed)
    img = Image.open(io.BytesIO(data)).convert("RGB")
    labels = ["title", "field", "field", "signature"]
    objects = [{"type": "polygon", "label": labels[i], "points": p} for i, p in enumerate(polys)]
    return img, objects


# Each class has a display label: the page shows it, and a key such as traffic_light is no word to a contributor.
STREET_LABELS = [{"name": "car", "label": "Ô tô", "color": "#e6194b"},
                 {"name": "person", "label": "Người", "color": "#4363d8"},
                 {"name": "traffic_light", "label": "Đèn giao thông", "color": "#3cb44b"}]
SHELF_LABELS = [{"name": "bottle", "label": "Chai", "color": "#4363d8"}, {"name": "box", "label": "Hộp", "color": "#f58231"},
                {"name": "can", "label": "Lon", "color": "#911eb4"}]
FORM_LABELS = [{"name": "title", "label": "Tiêu đề"}, {"name": "field", "label": "Trường thông tin"},
               {"name": "signature", "label": "Chữ ký"}]


def demo_campaigns(task_type) -> list[DemoCampaign]:
    street, shelves, forms = [], [], []
    for i in range(3):
        key, objects = _store(f"demo/image/street-{i + 1}.png", *street_scene(i))
        entry = {"payload": {"image": key, "source": "demo"}, "external_id": f"street-{i + 1}"}
        if i == 0:
            entry["gold_answer"] = {"objects": objects, "classes": ["day"], "size": [960, 540]}
        street.append(entry)
    for i in range(3):
        key, objects = _store(f"demo/image/shelf-{i + 1}.png", *shop_shelf(i))
        # A model's guesses: boxes nudged a few pixels and one product missed, for contributors to correct.
        rng = random.Random(i)
        pre = [{**o, "bbox": [o["bbox"][0] + rng.randint(-6, 6), o["bbox"][1] + rng.randint(-6, 6), o["bbox"][2],
                              o["bbox"][3]], "score": round(rng.uniform(0.5, 0.95), 2)} for o in objects[1:]]
        for o in pre:
            o["bbox"][0] = max(0, o["bbox"][0])
            o["bbox"][1] = max(0, o["bbox"][1])
        shelves.append({"payload": {"image": key, "pre_annotations": pre, "pre_source": "demo-model",
                                    "source": "demo"}, "external_id": f"shelf-{i + 1}"})
    for i in range(2):
        key, _objects = _store(f"demo/image/form-{i + 1}.png", *handwritten_form(i))
        forms.append({"payload": {"image": key, "source": "demo"}, "external_id": f"form-{i + 1}"})
    base = task_type.default_config()
    guide = ("## Hướng dẫn\n\nChọn lớp (phím 1–9), chọn công cụ, rồi vẽ sát mép vật thể. Kéo để di chuyển ảnh, "
             "lăn chuột hoặc hai ngón tay để phóng to. Ctrl+Z hoàn tác.\n\n")
    return [
        DemoCampaign(
            name="Ảnh đường phố: ô tô, người đi bộ, đèn giao thông",
            config={**base, "tools": ["box", "polygon", "keypoints", "mask", "classify"], "labels": STREET_LABELS,
                    "image_classes": ["day", "night"], "skeleton": COCO_PERSON},
            instructions=guide + "Vẽ **hộp** quanh mỗi ô tô, **điểm khớp** (17 điểm) cho người đi bộ, "
            "**đa giác** quanh đèn giao thông; chọn ngày/đêm cho cả ảnh.",
            items=street, extra={"overlap": 3, "max_overlap": 4},
        ),
        DemoCampaign(
            name="Kệ hàng siêu thị: sửa khung do mô hình gợi ý",
            config={**base, "tools": ["box", "rbox"], "labels": SHELF_LABELS},
            instructions=guide + "Mô hình đã vẽ sẵn khung: **chỉnh** khung lệch, **xóa** khung sai và **vẽ thêm** "
            "sản phẩm bị bỏ sót.",
            items=shelves, extra={"overlap": 2, "max_overlap": 3},
        ),
        DemoCampaign(
            name="Biểu mẫu viết tay: khoanh vùng trường thông tin",
            config={**base, "tools": ["polygon", "box", "polyline"], "labels": FORM_LABELS},
            instructions=guide + "Khoanh **đa giác** quanh tiêu đề, từng trường đã điền và chữ ký.",
            items=forms, extra={"overlap": 2, "max_overlap": 3},
        ),
    ]
