"""A field visit on a 360 px phone with Chromium's geolocation emulation and a camera file input: find places
nearest first, book, check in outside then inside the geofence, fill the form, photograph, go offline, send
(queued in the outbox), come back online (sent once); then the reviewer's page and the export."""
from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from annotations.models import Annotation
from organizations.models import Membership
from tests.browser.conftest import no_horizontal_scroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FORM = {"questions": [
    {"name": "store_open", "type": "select_one", "label": {"vi": "Cửa hàng có mở cửa không?", "en": "Open?"},
     "required": True, "choices": [{"name": "yes", "label": {"vi": "Có", "en": "Yes"}},
                                   {"name": "no", "label": {"vi": "Không", "en": "No"}}]},
    {"name": "facings", "type": "integer", "label": {"vi": "Số mặt hàng", "en": "Facings"}, "required": True,
     "relevant": "${store_open} = 'yes'", "constraint": ". >= 0 and . <= 500",
     "constraint_message": {"vi": "Từ 0 đến 500.", "en": "0 to 500."}},
]}
NEAR_MINI_MART = {"latitude": 10.7722, "longitude": 106.6984, "accuracy": 15}


def shelf_photo() -> bytes:
    image = Image.new("RGB", (640, 480), (30, 120, 200))
    ImageDraw.Draw(image).rectangle([100, 100, 400, 300], fill=(250, 200, 40))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def test_field_visit_offline_outbox_review_and_export(phone, live_server, browser_login, make_campaign,
                                                      make_contributor, org, settings, tmp_path, artifacts_dir):
    settings.MEDIA_ROOT = tmp_path
    now = timezone.now()
    window = {"start": (now - timedelta(hours=1)).isoformat(), "end": (now + timedelta(hours=6)).isoformat()}
    campaign = make_campaign("field_visit", overlap=1, config={"form": FORM, "geofence_m": 100}, items=[
        {"payload": {"place": {"name": "Tạp hóa Cô Ba", "address": "12 Lê Lợi", "lat": 10.7735, "lon": 106.7009},
                     "window": window}},
        {"payload": {"place": {"name": "Mini Mart", "address": "45 Phan Chu Trinh", "lat": 10.7721, "lon": 106.6983},
                     "window": window}},
    ])
    page = phone
    context = page.context
    context.grant_permissions(["geolocation"], origin=live_server.url)
    context.set_geolocation(NEAR_MINI_MART)
    user = make_contributor()
    browser_login(page, user.email)
    page.goto(f"{live_server.url}{reverse('field-page', args=[campaign.pk])}")
    page.tap("#btn-find")
    expect(page.locator("#places li")).to_have_count(2)
    assert "Mini Mart" in page.locator("#places li").first.text_content()  # nearest first
    page.locator("#places li").first.locator("button").tap()
    expect(page.locator("[data-bind=place-name]")).to_have_text("Mini Mart")
    assert no_horizontal_scroll(page)
    # Check in ~800 m away: the page says how far and will not send.
    context.set_geolocation({"latitude": 10.7795, "longitude": 106.6984, "accuracy": 15})
    page.tap("[data-action=checkin]")
    expect(page.locator("[data-role=checkin-status]")).to_have_class("small bad")
    # Inside the geofence.
    context.set_geolocation(NEAR_MINI_MART)
    page.tap("[data-action=checkin]")
    expect(page.locator("[data-role=checkin-status]")).not_to_have_class("small bad")
    page.locator("[data-question=store_open] label:has(input[value=yes])").tap()
    page.fill("[data-question=facings] input", "900")
    page.set_input_files("[data-role=photo-input]", files=[{"name": "shelf.jpg", "mimeType": "image/jpeg",
                                                             "buffer": shelf_photo()}])
    expect(page.locator("[data-role=thumbs] img")).to_have_count(1)
    page.tap("#btn-submit")
    expect(page.locator("[data-error-for='answers.facings']")).to_have_text("Từ 0 đến 500.")
    page.fill("[data-question=facings] input", "42")
    # A "photo" that is not an image: sent, refused by the server naming the file, the visit reopens as it was.
    page.locator("[data-role=thumbs] img").tap()  # tapping a thumbnail removes it
    page.set_input_files("[data-role=photo-input]", files=[{"name": "receipt.jpg", "mimeType": "image/jpeg",
                                                             "buffer": b"%PDF-1.4 not a photo"}])
    expect(page.locator("[data-role=thumbs] img")).to_have_count(1)
    page.tap("#btn-submit")
    expect(page.locator("#outbox-list li[data-state=refused]")).to_have_count(1)
    expect(page.locator("#form-error")).to_contain_text("Ảnh 1: Tệp này không phải ảnh đọc được")
    expect(page.locator("[data-question=facings] input")).to_have_value("42")
    page.locator("[data-role=thumbs] img").tap()
    page.set_input_files("[data-role=photo-input]", files=[{"name": "shelf.jpg", "mimeType": "image/jpeg",
                                                             "buffer": shelf_photo()}])
    expect(page.locator("[data-role=thumbs] img")).to_have_count(1)
    # Offline: the visit waits in the outbox.
    context.set_offline(True)
    page.tap("#btn-submit")
    expect(page.locator("#outbox-count")).to_have_text("1")
    expect(page.locator("#offline-banner")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "field-visit-outbox.png"), full_page=True)
    assert not Annotation.objects.filter(campaign=campaign).exists()
    # Back online: sent once, whatever the retries.
    context.set_offline(False)
    expect(page.locator("#outbox-list li[data-state=synced]")).to_have_count(1, timeout=20000)
    expect(page.locator("#outbox-count")).to_have_text("0")
    stored = Annotation.objects.get(campaign=campaign)
    assert stored.idempotency_key and stored.payload["answers"] == {"store_open": "yes", "facings": 42}
    assert stored.payload["checkin"]["distance_m"] < 100 and stored.payload["checkin"]["accuracy"] == 15
    assert len(stored.payload["photos"]) == 1
    # The reviewer: photo, check-in on the plain plot (no tile URL set), answers; then the export.
    manager = make_contributor()
    Membership.objects.create(organization=org, user=manager, role=Membership.Role.MANAGER)
    desk = context.browser.new_context(viewport={"width": 1000, "height": 800}, accept_downloads=True)
    reviewer = desk.new_page()
    reviewer.set_default_timeout(10000)
    browser_login(reviewer, manager.email)
    reviewer.goto(f"{live_server.url}{reverse('field-review', args=[campaign.pk])}")
    expect(reviewer.locator(f"[data-visit='{stored.pk}'] img")).to_have_count(1)
    expect(reviewer.locator(f"#review-map circle[data-visit='{stored.pk}']")).to_have_count(1)
    reviewer.screenshot(path=str(artifacts_dir / "field-visit-review.png"), full_page=True)
    with reviewer.expect_download() as download:
        reviewer.click("#export-csv")
    with zipfile.ZipFile(download.value.path()) as z:
        names = set(z.namelist())
        table = z.read("submissions.csv").decode("utf-8-sig")
    assert {"submissions.csv", "codebook.csv", "visits.geojson"} <= names and any(n.startswith("media/") for n in names)
    desk.close()
    assert "Mini Mart" in table and ",42," in table
