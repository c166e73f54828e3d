"""Video annotation in Debian's chromium: one box track over 100 frames with 3 keyframes (drawn on frame 0,
moved on frames 49 and 99 after stepping with the frame keys), submitted; the server's interpolation of
the stored track gives the boxes the page showed, frame by frame."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import Annotation
from assets.services import build_frame_store, store_media
from task_types.video.clips import write_clip
from task_types.video.tracks import expand

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CONFIG = {"shapes": ["box", "polygon", "points"], "labels": [{"name": "red"}, {"name": "blue"}]}


@pytest.fixture
def clip(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "clip.mp4"
    write_clip(path, width=480, height=270, seconds=4.0, fps=25, gop=25)
    asset = store_media(key="campaigns/t/clip.mp4", data=path.read_bytes(), kind="video", content_type="video/mp4",
                        info={"name": "clip.mp4", "frames": {"state": "pending"}})
    build_frame_store(asset=asset)
    return asset.key


def mapper(page):
    scale, tx, ty = (float(v) for v in page.locator("[data-role=video-annotation]").get_attribute("data-view").split(","))
    box = page.locator("[data-role=canvas]").bounding_box()
    return lambda x, y: (box["x"] + tx + x * scale, box["y"] + ty + y * scale)


def drag(page, a, b, steps=8):
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move(*b, steps=steps)
    page.mouse.up()


def step_to(page, frame: int):
    current = int(page.locator("[data-role=video-annotation]").get_attribute("data-frame"))
    while current != frame:
        page.keyboard.press("." if frame > current else ",")
        current += 1 if frame > current else -1
    expect(page.locator(f"[data-role=video-annotation][data-shown='{frame}']")).to_be_attached(timeout=10000)


def test_one_track_three_keyframes_interpolated_on_the_server(browser, live_server, browser_login, make_campaign,
                                                             make_contributor, clip, artifacts_dir):
    campaign = make_campaign("video", items=[{"payload": {"video": clip}}], overlap=1, config=CONFIG)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(20000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    browser_login(page, make_contributor().email)
    page.goto(f"{live_server.url}/label/{campaign.pk}/")
    page.locator("#instructions").wait_for(state="visible")
    page.keyboard.press("Escape")
    expect(page.locator("[data-role=video-annotation][data-shown='0']")).to_be_attached(timeout=15000)
    page.locator("[data-role=viewport]").evaluate("el => el.scrollIntoView({block: 'start'})")
    screen = mapper(page)
    # Frame 0: the box tool is chosen first; drag a box.
    drag(page, screen(40, 60), screen(120, 120))
    expect(page.locator("[data-track-shape=box]")).to_have_count(1)
    # Frame 49 (the frame keys): select and move the box; a keyframe is made there.
    page.keyboard.press("v")
    step_to(page, 49)
    drag(page, screen(80, 90), screen(280, 150))
    # Frame 99 (the slider's last stretch by keys too): move it again.
    step_to(page, 99)
    drag(page, screen(280, 150), screen(380, 110))
    expect(page.locator("[data-role=ticks] span")).to_have_count(3)
    step_to(page, 24)
    page.screenshot(path=str(artifacts_dir / "video-annotation-desktop.png"))
    shown = page.evaluate("""() => {
        const t = window.TaskTypes.video.collect().tracks[0];
        return window.TaskTypes.video.expand(t, 100);
    }""")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#done-count")).to_have_text("1")
    context.close()
    assert not errors, errors

    (track,) = Annotation.objects.get(campaign=campaign).payload["tracks"]
    assert [k["frame"] for k in track["keyframes"]] == [0, 49, 99]
    first, middle, last = (k["box"] for k in track["keyframes"])
    assert first == pytest.approx([40, 60, 80, 60], abs=2)
    assert middle[:2] == pytest.approx([240, 120], abs=3) and last[:2] == pytest.approx([340, 80], abs=3)
    server = expand(track, 100)
    assert len(server) == 100 and all(not s["outside"] for s in server)
    # The server's interpolation is the page's, frame by frame, and lies on the lines between the keyframes.
    assert [s["box"] for s in server] == [s["box"] for s in shown]
    for f in (10, 24, 70):
        a, b, f0, f1 = (first, middle, 0, 49) if f < 49 else (middle, last, 49, 99)
        t = (f - f0) / (f1 - f0)
        assert server[f]["box"] == pytest.approx([p + (q - p) * t for p, q in zip(a, b, strict=True)], abs=0.01)


def test_polygon_points_propagate_outside_and_occluded(browser, live_server, browser_login, make_campaign,
                                                       make_contributor, clip):
    campaign = make_campaign("video", items=[{"payload": {"video": clip}}], overlap=1, config=CONFIG)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    browser_login(page, make_contributor().email)
    page.goto(f"{live_server.url}/label/{campaign.pk}/")
    page.locator("#instructions").wait_for(state="visible")
    page.keyboard.press("Escape")
    expect(page.locator("[data-role=video-annotation][data-shown='0']")).to_be_attached(timeout=15000)
    page.locator("[data-role=viewport]").evaluate("el => el.scrollIntoView({block: 'start'})")
    screen = mapper(page)
    # A polygon of class 2 (P, four taps, Enter) and a two-point track (T, two taps, Enter) on frame 0.
    page.keyboard.press("2")
    page.keyboard.press("p")
    for x, y in ((300, 50), (400, 50), (400, 150), (300, 150)):
        page.mouse.click(*screen(x, y))
    page.keyboard.press("Enter")
    page.keyboard.press("t")
    for x, y in ((50, 200), (90, 230)):
        page.mouse.click(*screen(x, y))
    page.keyboard.press("Enter")
    expect(page.locator("[data-track-shape=polygon]")).to_have_count(1)
    expect(page.locator("[data-track-shape=points]")).to_have_count(1)
    # The polygon: propagate to frame 1 (F), occluded there (C), outside from frame 10 (O).
    page.locator("[data-track-shape=polygon] button").click()
    page.keyboard.press("f")
    expect(page.locator("[data-role=video-annotation][data-frame='1']")).to_be_attached()
    page.keyboard.press("c")
    expect(page.locator("[data-action=occluded]")).to_have_attribute("aria-pressed", "true")
    step_to(page, 10)
    page.keyboard.press("o")
    expect(page.locator("[data-action=outside]")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#done-count")).to_have_text("1")
    context.close()
    assert not errors, errors

    polygon, points = Annotation.objects.get(campaign=campaign).payload["tracks"]
    assert polygon["shape"] == "polygon" and polygon["label"] == "blue"
    assert [(k["frame"], k["occluded"], k["outside"]) for k in polygon["keyframes"]] == [
        (0, False, False), (1, True, False), (10, True, True)]
    assert polygon["keyframes"][1]["points"] == polygon["keyframes"][0]["points"]
    assert polygon["keyframes"][0]["points"][2] == pytest.approx([400, 150], abs=2)
    assert points["shape"] == "points" and len(points["keyframes"][0]["points"]) == 2
    shapes = expand(polygon, 100)
    assert shapes[5]["occluded"] and not shapes[5]["outside"] and shapes[50]["outside"]
