"""Image annotation in Debian's chromium: draw a box, a polygon, keypoints and a brush mask at 1366 px;
a box and points by touch at 360 px (a phone's touch events, under the site's CSP); three contributors on
one image, the consensus shown in the review view, and the COCO and YOLO exports read back."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from annotations.models import Annotation
from assets.services import store_media
from consensus.engine import score_item_consensus
from task_types.image.datasets import export_campaign
from task_types.image.demo import street_scene
from tasks.models import Item
from tests.browser.conftest import no_horizontal_scroll
from tests.test_admin_console import make_member
from tests.test_image_type import read_yolo_dataset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CONFIG = {"tools": ["box", "polygon", "keypoints", "mask"], "labels": [{"name": "car"}, {"name": "person"}],
          "skeleton": {"points": ["head", "left_hand", "right_hand"], "edges": [[1, 2], [1, 3]]}}


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def street(media_root):
    import io

    image, _objects = street_scene(0)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    store_media(key="campaigns/t/street.png", data=buf.getvalue(), kind="image", content_type="image/png",
                info={"width": image.size[0], "height": image.size[1]})
    return "campaigns/t/street.png"


def open_page(page, live_server, campaign):
    page.goto(f"{live_server.url}/label/{campaign.pk}/")
    page.locator("#instructions").wait_for(state="visible")
    page.keyboard.press("Escape")
    expect(page.locator("[data-role=image-annotation][data-loaded='1']")).to_be_attached(timeout=15000)
    page.locator("[data-role=viewport]").evaluate("el => el.scrollIntoView({block: 'start'})")


def mapper(page):
    """Image pixel -> page pixel, from the canvas's position and the view the script publishes."""
    scale, tx, ty = (float(v) for v in page.locator("[data-role=image-annotation]").get_attribute("data-view").split(","))
    box = page.locator("[data-role=canvas]").bounding_box()
    return lambda x, y: (box["x"] + tx + x * scale, box["y"] + ty + y * scale)


def drag(page, a, b, steps=6):
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move(*b, steps=steps)
    page.mouse.up()


def test_draw_every_shape_at_1366_then_consensus_and_exports(browser, live_server, browser_login, make_campaign,
                                                             make_contributor, street, org, artifacts_dir, tmp_path):
    campaign = make_campaign("image", items=[{"payload": {"image": street}}], overlap=3, config=CONFIG,
                             organization=org)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(20000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    browser_login(page, make_contributor().email)
    open_page(page, live_server, campaign)
    screen = mapper(page)
    # Box (the tool chosen first): drag over a car.
    drag(page, screen(60, 300), screen(260, 420))
    expect(page.locator("[data-object-type=box]")).to_have_count(1)
    # Polygon: P, four clicks, Enter; class 2 (person) picked with its number key first.
    page.keyboard.press("2")
    page.keyboard.press("p")
    for x, y in ((600, 120), (700, 120), (700, 380), (600, 380)):
        page.mouse.click(*screen(x, y))
    page.keyboard.press("Enter")
    expect(page.locator("[data-object-type=polygon]")).to_have_count(1)
    # Keypoints: K, one click per skeleton point (the object closes by itself).
    page.keyboard.press("k")
    for x, y in ((650, 140), (620, 250), (680, 250)):
        page.mouse.click(*screen(x, y))
    expect(page.locator("[data-object-type=keypoints]")).to_have_count(1)
    # Mask: M, class 1, one brush stroke.
    page.keyboard.press("1")
    page.keyboard.press("m")
    drag(page, screen(400, 470), screen(520, 470), steps=12)
    expect(page.locator("[data-object-type=mask]")).to_have_count(1)
    # Undo then redo the stroke: the mask comes back.
    page.keyboard.press("Control+z")
    expect(page.locator("[data-object-type=mask]")).to_have_count(0)
    page.keyboard.press("Control+y")
    expect(page.locator("[data-object-type=mask]")).to_have_count(1)
    page.screenshot(path=str(artifacts_dir / "image-annotation-desktop.png"))
    page.keyboard.press("Control+Enter")
    expect(page.locator("#done-count")).to_have_text("1")
    mine = Annotation.objects.get(campaign=campaign).payload["objects"]
    assert [o["type"] for o in mine] == ["box", "polygon", "keypoints", "mask"]
    assert [o["label"] for o in mine] == ["car", "person", "person", "car"]
    assert mine[0]["bbox"] == pytest.approx([60, 300, 200, 120], abs=2)
    assert mine[1]["points"][2] == pytest.approx([700, 380], abs=2)
    assert [p[:2] for p in mine[2]["keypoints"]] == [pytest.approx(p, abs=2) for p in ([650, 140], [620, 250], [680, 250])]
    assert mine[3]["rle"]["size"] == [540, 960]
    from pycocotools import mask as mu

    painted = mu.decode({"size": [540, 960], "counts": mine[3]["rle"]["counts"].encode()})
    assert painted[470, 460] == 1 and painted[300, 460] == 0 and 2000 < painted.sum() < 6000
    context.close()
    assert not errors, errors

    # Two more contributors (through the API) draw nearly the same; one misses the mask.
    for shift, keep in ((3, 4), (-2, 3)):
        client = Client()
        client.force_login(make_contributor())
        assignment = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()
        objects = [dict(o) for o in mine[:keep]]
        objects[0] = {**objects[0], "bbox": [60 + shift, 300, 200, 120]}
        response = client.post(reverse("assignment-submit", args=[assignment["assignment"]["id"]]),
                               {"payload": {"objects": objects}}, content_type="application/json")
        assert response.status_code == 201, response.content
    item = Item.objects.get(campaign=campaign)
    consensus = score_item_consensus(item.pk)
    assert [o["type"] for o in consensus.result["objects"]] == ["box", "polygon", "keypoints", "mask"]
    assert consensus.result["missing"] == [0, 0, 1]

    # The review view shows it to a manager.
    review = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    rpage = review.new_page()
    browser_login(rpage, make_member(org).email)
    rpage.goto(f"{live_server.url}{reverse('review:item', args=[item.pk])}")
    expect(rpage.locator("#consensus-result")).to_contain_text("keypoints")  # figures, not JSON
    expect(rpage.locator("#consensus")).to_contain_text("hungarian_iou_fusion")
    review.close()

    from pycocotools.coco import COCO

    export_campaign(campaign=campaign, fmt="coco", out=tmp_path / "coco")
    coco = COCO(str(tmp_path / "coco" / "annotations.json"))
    assert len(coco.getAnnIds()) == 4 and coco.imgs[item.pk]["width"] == 960
    export_campaign(campaign=campaign, fmt="yolo-detect", out=tmp_path / "yolo")
    labels = read_yolo_dataset(tmp_path / "yolo")["labels"]
    assert len(next(iter(labels.values()))) == 3  # box, polygon and mask as boxes


def test_box_and_points_by_touch_on_a_phone(phone, live_server, browser_login, make_campaign, make_contributor,
                                            street, artifacts_dir):
    page = phone
    campaign = make_campaign("image", items=[{"payload": {"image": street}}], overlap=1,
                             config={**CONFIG, "tools": ["box", "keypoints"]})
    browser_login(page, make_contributor().email)
    open_page(page, live_server, campaign)
    assert no_horizontal_scroll(page)
    screen = mapper(page)
    cdp = page.context.new_cdp_session(page)

    def touch(kind, point):
        points = [] if kind == "touchEnd" else [{"x": point[0], "y": point[1], "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    # A box: one finger drags from corner to corner.
    a, b = screen(60, 300), screen(260, 420)
    touch("touchStart", a)
    for k in range(1, 7):
        touch("touchMove", (a[0] + (b[0] - a[0]) * k / 6, a[1] + (b[1] - a[1]) * k / 6))
    touch("touchEnd", b)
    expect(page.locator("[data-object-type=box]")).to_have_count(1)
    # Points: the keypoints tool, then a tap per skeleton point (the middle one skipped as unseen).
    tool = page.locator("button[data-tool=keypoints]")
    for _ in range(3):  # Chromium may take the first tap after a drag as the end of that gesture
        tool.tap()
        try:
            expect(tool).to_have_attribute("aria-pressed", "true", timeout=2000)
            break
        except AssertionError:
            continue
    expect(tool).to_have_attribute("aria-pressed", "true")
    screen = mapper(page)
    page.touchscreen.tap(*screen(650, 140))
    page.locator("button[data-action=skip]").tap()
    page.touchscreen.tap(*screen(680, 250))
    expect(page.locator("[data-object-type=keypoints]")).to_have_count(1)
    page.screenshot(path=str(artifacts_dir / "image-annotation-phone.png"), full_page=True)
    page.locator("#btn-submit").tap()
    expect(page.locator("#done-count")).to_have_text("1")
    box, points = Annotation.objects.get(campaign=campaign).payload["objects"]
    # The phone's view is small, so a finger's pixel is a few image pixels.
    assert box["bbox"] == pytest.approx([60, 300, 200, 120], abs=4)
    assert points["keypoints"][1] == [0, 0, 0] and points["keypoints"][2][:2] == pytest.approx([680, 250], abs=4)


def test_a_large_image_is_drawn_from_deep_zoom_tiles(browser, live_server, browser_login, make_campaign,
                                                     make_contributor, media_root, org, artifacts_dir, monkeypatch):
    """Over tiles.MIN_PIXELS (lowered here so the test makes its image quickly) the page never fetches the
    image itself: the top tile first, then only the tiles in view at the zoom's level; drawing still works."""
    import io

    from PIL import Image, ImageDraw

    from task_types.image import tiles

    monkeypatch.setattr(tiles, "MIN_PIXELS", 500_000)
    picture = Image.new("RGB", (3000, 2000), (30, 60, 200))
    ImageDraw.Draw(picture).rectangle([0, 0, 400, 300], fill=(230, 40, 40))  # red top-left corner
    buf = io.BytesIO()
    picture.save(buf, format="PNG")
    store_media(key="campaigns/t/large.png", data=buf.getvalue(), kind="image", content_type="image/png",
                info={"width": 3000, "height": 2000})
    campaign = make_campaign("image", items=[{"payload": {"image": "campaigns/t/large.png"}}], overlap=1,
                             config=CONFIG, organization=org)
    assert Item.objects.get(campaign=campaign).payload["tiles"] == {"size": 512, "levels": 4}
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    browser_login(page, make_contributor().email)
    with page.expect_response(lambda r: "/assignments/" in r.url and r.url.endswith("/media/")) as answer:
        open_page(page, live_server, campaign)
    media = answer.value.json()["media"]
    assert len(media) == 1 + 6 * 4 + 3 * 2 + 2 * 1 + 1  # the image and 33 tiles (3000x2000 down to 375x250)
    by_url = {url.split("://", 1)[-1].split("/", 1)[-1]: name for name, url in media.items()}

    def names():
        return {by_url[u.split("://", 1)[-1].split("/", 1)[-1]] for u in fetched
                if u.split("://", 1)[-1].split("/", 1)[-1] in by_url}

    expect(page.locator("[data-role=image-annotation][data-tiles-loaded]")).to_be_attached()
    page.wait_for_timeout(500)
    first = names()
    # Fitted to the screen (scale ~0.37): level 1 and the top tile, nothing at full size.
    assert "image" not in first and "tile:3:0:0" in first and not any(n.startswith("tile:0:") for n in first)
    # Zoom in on the red corner: level-0 tiles of the corner load, not the whole level.
    screen = mapper(page)
    page.mouse.move(*screen(100, 100))
    for _ in range(8):
        page.mouse.wheel(0, -120)
        page.wait_for_timeout(60)
    page.wait_for_timeout(1500)  # the zoomed view's tiles load
    zoomed = names()
    assert "image" not in zoomed and "tile:0:0:0" in zoomed and "tile:0:5:3" not in zoomed
    screen = mapper(page)
    pixel = page.evaluate("""([x, y]) => { const c = document.querySelector('[data-role=canvas]');
        const r = c.getBoundingClientRect(), d = c.width / r.width;
        return Array.from(c.getContext('2d').getImageData((x - r.left) * d, (y - r.top) * d, 1, 1).data); }""",
                          list(screen(150, 150)))
    assert pixel[0] > 180 and pixel[2] < 100, pixel  # the red corner, drawn from a tile
    drag(page, screen(120, 120), screen(220, 200))
    expect(page.locator("[data-object-type=box]")).to_have_count(1)
    page.screenshot(path=str(artifacts_dir / "image-annotation-deep-zoom.png"))
    context.close()
