"""OCR task type: items referencing stored images, region/field/full-page answers, NFC, diacritics, consensus."""
from __future__ import annotations

import io
import unicodedata

import orjson
import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from PIL import Image

from annotations.models import Annotation
from assets.models import MediaAsset
from assets.services import store_media
from core.schema import SchemaError
from task_types.ocr.demo import render_document
from tasks.models import Item
from tasks.types import get_task_type
from tests import media_samples as ms

OCR = get_task_type("ocr")


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def scan(media_root, db):
    """A stored 640×400 image."""
    store_media(key="campaigns/scans/page-1.png", data=ms.png(640, 400), kind="image", content_type="image/png",
                info={"width": 640, "height": 400})
    return "campaigns/scans/page-1.png"


def leased(make_campaign, make_contributor, scan, **config):
    campaign = make_campaign("ocr", items=[{"payload": {"image": scan}}], overlap=1, config=config)
    client = Client()
    client.force_login(make_contributor())
    assignment = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()
    return campaign, client, assignment["assignment"]


def submit(client, assignment, payload):
    return client.post(reverse("assignment-submit", args=[assignment["id"]]), {"payload": payload},
                       content_type="application/json")


@pytest.mark.django_db
def test_item_validation_reads_the_stored_image_and_refuses_bad_keys(scan):
    config = OCR.validate_config({"mode": "regions"})
    item = OCR.validate_item({"image": scan}, config)
    assert (item["width"], item["height"]) == (640, 400)
    # A size the importer claims is replaced by the stored image's real size.
    assert OCR.validate_item({"image": scan, "width": 5, "height": 5}, config)["width"] == 640
    for bad in ("../../etc/passwd", "/etc/passwd", "campaigns/../secret.png", "a\\b.png", "campaigns/none.png"):
        with pytest.raises(SchemaError) as exc:
            OCR.validate_item({"image": bad}, config)
        assert exc.value.field == "image", bad
    # Pre-detected regions must lie inside the image.
    with pytest.raises(SchemaError) as exc:
        OCR.validate_item({"image": scan, "regions": [{"shape": "rect", "x": 600, "y": 10, "w": 100, "h": 20}]}, config)
    assert exc.value.field == "regions[0]" and "outside" in exc.value.message


@pytest.mark.django_db
def test_region_answers_in_pixels_nfc_and_refused_boxes(scan, make_campaign, make_contributor):
    campaign, client, assignment = leased(make_campaign, make_contributor, scan, mode="regions")
    assert assignment["item"]["payload"]["width"] == 640
    outside = {"regions": [{"shape": "rect", "x": 600, "y": 10, "w": 80, "h": 20, "text": "Hà Nội"}]}
    response = submit(client, assignment, outside)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "regions[0]"
    assert "640×400" in response.json()["error"]["message"]
    negative = {"regions": [{"shape": "polygon", "points": [[-20, 0], [10, 0], [10, 10], [0, 10]], "text": "Huế"}]}
    assert submit(client, assignment, negative).json()["error"]["field"] == "regions[0]"
    flat = {"regions": [{"shape": "polygon", "points": [[0, 0], [10, 10], [20, 20], [30, 30]], "text": "Huế"}]}
    assert "area" in submit(client, assignment, flat).json()["error"]["message"]
    empty_text = {"regions": [{"shape": "rect", "x": 1, "y": 1, "w": 10, "h": 10, "text": "   "}]}
    assert submit(client, assignment, empty_text).json()["error"]["field"] == "regions[0].text"
    assert submit(client, assignment, {"regions": []}).json()["error"]["field"] == "regions"
    assert Annotation.objects.count() == 0

    nfd = unicodedata.normalize("NFD", "Cửa hàng tạp hóa Bình Minh")
    good = {"regions": [
        {"shape": "rect", "x": 10.04, "y": 20, "w": 300, "h": 40, "text": nfd},
        {"shape": "polygon", "points": [[10, 80], [400, 85], [399.6, 120], [9, 116]], "text": "Tổng cộng: 45.000đ"},
    ]}
    response = submit(client, assignment, good)
    assert response.status_code == 201, response.content
    stored = Annotation.objects.get().payload["regions"]
    assert stored[0]["text"] == unicodedata.normalize("NFC", nfd) != nfd
    assert stored[0]["x"] == 10.0 and stored[1]["points"][2] == [399.6, 120.0]


@pytest.mark.django_db
def test_no_diacritics_warning_is_enforced_until_confirmed(scan, make_campaign, make_contributor):
    campaign, client, assignment = leased(make_campaign, make_contributor, scan, mode="full_page")
    response = submit(client, assignment, {"text": "Con chao bo me, con van khoe"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "text" and "diacritics" in response.json()["error"]["message"]
    response = submit(client, assignment, {"text": "Con chao bo me, con van khoe", "confirmed_no_diacritics": True})
    assert response.status_code == 201


@pytest.mark.django_db
def test_structured_fields(scan, make_campaign, make_contributor):
    campaign, client, assignment = leased(make_campaign, make_contributor, scan, mode="fields")
    assert [f["key"] for f in campaign.config["fields"]] == ["ho_va_ten", "ngay_sinh", "dia_chi"]
    missing = submit(client, assignment, {"fields": {"ho_va_ten": "Nguyễn Thị Hương", "ngay_sinh": " "}})
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "fields.ngay_sinh"
    unknown = submit(client, assignment, {"fields": {"ho_va_ten": "Lê Văn Tám", "ngay_sinh": "1/1/1990", "cmnd": "1"}})
    assert unknown.status_code == 400
    ok = submit(client, assignment, {"fields": {"ho_va_ten": "Nguyễn Thị Hương", "ngay_sinh": "12/08/1990",
                                                "dia_chi": "Số 5 Lý Thường Kiệt, Huế"}})
    assert ok.status_code == 201, ok.content


def test_consensus_matches_boxes_and_picks_the_medoid_text():
    config = OCR.validate_config({"mode": "regions"})
    answers = [
        {"regions": [{"shape": "rect", "x": 10, "y": 10, "w": 200, "h": 30, "text": "Bánh mì thịt nướng"},
                     {"shape": "rect", "x": 10, "y": 60, "w": 200, "h": 30, "text": "Cà phê sữa đá"}]},
        {"regions": [{"shape": "rect", "x": 12, "y": 11, "w": 196, "h": 31, "text": "Bánh mì thịt nướng"},
                     {"shape": "rect", "x": 9, "y": 61, "w": 203, "h": 28, "text": "Cà phê sữa đá"}]},
        {"regions": [{"shape": "rect", "x": 11, "y": 9, "w": 199, "h": 30, "text": "Banh mi thit nuong"},
                     {"shape": "rect", "x": 400, "y": 300, "w": 20, "h": 20, "text": "nhiễu"}]},
    ]
    aggregate = OCR.aggregate(answers, config=config)
    regions = aggregate.result["regions"]
    assert [r["text"] for r in regions] == ["Bánh mì thịt nướng", "Cà phê sữa đá"]  # the stray box is dropped
    assert regions[0]["x"] == 11 and regions[0]["w"] == 199  # median box
    assert 0.5 < aggregate.confidence < 1.0
    full = OCR.validate_config({"mode": "full_page"})
    result = OCR.aggregate([{"text": "Xin chào Việt Nam"}, {"text": "Xin chào Việt Nam"}, {"text": "Xin chao Viet Nam"}],
                           config=full)
    assert result.result["text"] == "Xin chào Việt Nam"
    assert OCR.is_correct({"text": "Xin chào Việt Nam!"}, {"text": "Xin chào Việt Nam"}, config=full)
    assert not OCR.is_correct({"text": "Xin chao"}, {"text": "Xin chào Việt Nam"}, config=full)


def test_rendered_documents_are_vietnamese_images_with_regions_inside():
    data, width, height, polygons = render_document(["Cộng hòa Xã hội Chủ nghĩa Việt Nam", "Độc lập – Tự do"],
                                                    handwriting=True, seed=4)
    image = Image.open(io.BytesIO(data))
    assert image.size == (width, height) and image.format == "PNG"
    assert len(polygons) == 2
    for polygon in polygons:
        assert len(polygon) == 4
        assert all(0 <= x <= width and 0 <= y <= height for x, y in polygon)
    # Ink where the first line is: the region is darker than blank paper.
    xs = [p[0] for p in polygons[0]]
    ys = [p[1] for p in polygons[0]]
    crop = image.convert("L").crop((int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))))
    assert min(crop.getdata()) < 120


@pytest.mark.django_db
def test_demo_campaigns_store_their_images(media_root):
    specs = OCR.demo()
    assert {s.config["mode"] for s in specs} == {"full_page", "regions", "fields"}
    for spec in specs:
        config = OCR.validate_config(spec.config)
        for entry in spec.items:
            payload = OCR.validate_item(entry["payload"], config)
            assert default_storage.exists(payload["image"])
            assert MediaAsset.objects.filter(key=payload["image"], kind="image").exists()
    # Running the demo again replaces the files rather than piling up copies.
    OCR.demo()
    assert MediaAsset.objects.filter(key__startswith="demo/ocr/").count() == sum(len(s.items) for s in specs)
    assert Item.objects.count() == 0


@pytest.mark.django_db
def test_import_report_names_each_bad_line_and_stores_nothing(scan, make_campaign):
    from tasks.importing import import_items

    campaign = make_campaign("ocr", items=[], overlap=1, config={"mode": "regions"})
    lines = [
        {"image": scan, "regions": [{"shape": "rect", "x": 1, "y": 1, "w": 100, "h": 30}]},
        {"image": "../../../etc/passwd"},
        {"image": "campaigns/scans/never-uploaded.png"},
        {"image": scan, "regions": [{"shape": "rect", "x": 600, "y": 390, "w": 100, "h": 30}]},
        {"image": scan, "gold_answer": {"regions": [{"shape": "rect", "x": 1, "y": 1, "w": 9999, "h": 1, "text": "Hà"}]}},
    ]
    body = b"\n".join(orjson.dumps(line) for line in lines)
    report = import_items(campaign=campaign, stream=io.BytesIO(body), fmt="jsonl")
    errors = {(e.line, e.field) for e in report.errors}
    assert errors == {(2, "payload.image"), (3, "payload.image"), (4, "payload.regions[0]"),
                      (5, "gold_answer.regions[0]")}
    assert Item.objects.filter(campaign=campaign).count() == 0
    report = import_items(campaign=campaign, stream=io.BytesIO(orjson.dumps(lines[0])), fmt="jsonl")
    assert report.ok and Item.objects.get(campaign=campaign).payload["width"] == 640
