"""Media tasks in Debian's chromium with a fake microphone, under the real Content-Security-Policy.

Record and submit a clip; draw a box on an OCR image and transcribe it with the diacritics helper;
validate a recording; a denied microphone and a browser without MediaRecorder get a clear message.
"""
from __future__ import annotations

import io
import re

import av
import pytest
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from annotations.models import Annotation
from assets.decoding import inspect_audio
from assets.services import store_media
from task_types.ocr.demo import render_document
from tests import media_samples as ms

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def phone_page(browser):
    """A phone-sized page that enforces the site's CSP (no bypass): inline code would not run."""
    context = browser.new_context(viewport=PHONE, locale="vi-VN", has_touch=False)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.csp_errors = errors
    yield page
    context.close()


def open_campaign(page, live_server, campaign):
    page.goto(f"{live_server.url}/label/{campaign.pk}/")
    page.locator("#instructions").wait_for(state="visible")
    page.keyboard.press("Escape")
    # The labeler marks the form with the assignment right before the type renders it.
    page.locator("#labeler[data-assignment]").wait_for(state="attached")


def wait_done(page, n: int, artifacts_dir, name: str):
    # Waits go through locators: the enforced CSP forbids the eval behind wait_for_function.
    try:
        expect(page.locator("#done-count")).to_have_text(str(n), timeout=20000)
    except AssertionError:
        page.screenshot(path=str(artifacts_dir / f"{name}-fail.png"), full_page=True)
        raise


def test_record_play_back_and_submit_a_clip(phone_page, live_server, browser_login, make_campaign, make_contributor,
                                            media_root, artifacts_dir):
    page = phone_page
    campaign = make_campaign("speech_recording", items=[{"payload": {"sentence": "Xin chào các bạn nhé"}}], overlap=1)
    user = make_contributor(region="south")
    browser_login(page, user.email)
    open_campaign(page, live_server, campaign)
    page.locator("[data-bind=sentence]", has_text="Xin chào các bạn nhé").wait_for()
    expect(page.locator("[data-role=range]")).to_contain_text("1–8 giây")  # vi-VN page; 5 syllables: 1 s .. 3 + 5 s
    page.click("[data-action=record]")
    expect(page.locator("[data-role=meter]")).to_have_attribute("style", re.compile(r"width: (?!0%)\d"), timeout=5000)
    page.wait_for_timeout(2500)
    page.click("[data-action=record]")  # stop: the take is uploaded and checked at once
    status = page.locator("[data-role=status]")
    expect(status).to_contain_text(re.compile(r"\d\.\d"), timeout=15000)
    assert status.text_content() == page.locator("[data-msg=ok]").text_content().replace(
        "{seconds}", re.search(r"\d+\.\d", status.text_content()).group())
    assert page.locator("[data-action=play]").is_enabled()
    page.click("[data-action=play]")
    page.screenshot(path=str(artifacts_dir / "speech-recording-phone.png"), full_page=True)
    page.click("#btn-submit")
    wait_done(page, 1, artifacts_dir, "speech-recording")
    annotation = Annotation.objects.get(campaign=campaign)
    payload = annotation.payload
    assert payload["speaker"]["region"] == "south" and payload["codec"] == "opus"
    assert 2.0 < payload["duration_s"] < 4.5
    assert payload["device"]["user_agent"]
    with default_storage.open(payload["audio"], "rb") as handle:
        data = handle.read()
    with av.open(io.BytesIO(data)) as container:
        assert container.format.name == "matroska,webm"
    assert inspect_audio(data).sample_rate == 48000
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]
    # Issue 24: a recording made on the real page is never scored as typing (the sentence is read, not typed).
    from authenticity import services as authorship

    record = authorship.score_annotation(annotation.pk)
    assert record.score is None and not record.flagged and record.reasons == []
    assert record.components["not_scored_because"] == "recording"


def test_denied_microphone_and_unsupported_browser_get_a_clear_message(browser, live_server, browser_login,
                                                                       make_campaign, make_contributor, media_root):
    campaign = make_campaign("speech_recording", items=[{"payload": {"sentence": "Một hai ba bốn"}}] * 2, overlap=1)
    user = make_contributor()
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    context.add_init_script(
        "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));"
    )
    page = context.new_page()
    browser_login(page, user.email)
    open_campaign(page, live_server, campaign)
    page.click("[data-action=record]")
    problem = page.locator("[data-role=mic-problem]")
    problem.wait_for(state="visible")
    assert problem.locator("[data-role=mic-problem-text]").text_content() == page.locator("[data-msg=denied]").text_content()
    assert "micrô" in page.locator("[data-msg=denied]").text_content().lower()  # vi-VN page: the Vietnamese message
    # The page is not dead: submitting explains what is missing, and skipping still works.
    page.click("#btn-submit")
    page.locator("[data-error-for=audio]").wait_for(state="visible")
    page.once("dialog", lambda dialog: dialog.accept("Không có micro"))
    page.click("#btn-skip")
    expect(page.locator("[data-role=mic-problem]")).to_be_hidden()
    context.close()

    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    context.add_init_script("delete window.MediaRecorder;")
    page = context.new_page()
    browser_login(page, user.email)
    open_campaign(page, live_server, campaign)
    problem = page.locator("[data-role=mic-problem]")
    problem.wait_for(state="visible")
    assert problem.locator("[data-role=mic-problem-text]").text_content() == page.locator("[data-msg=unsupported]").text_content()
    assert page.locator("[data-action=record]").is_disabled()
    context.close()


def test_draw_a_box_on_an_ocr_image_and_transcribe_it(phone_page, live_server, browser_login, make_campaign,
                                                      make_contributor, media_root, artifacts_dir):
    page = phone_page
    data, width, height, _polygons = render_document(["Xin chào Việt Nam", "Hà Nội mùa thu"], handwriting=False, seed=1)
    store_media(key="campaigns/t/scan.png", data=data, kind="image", content_type="image/png",
                info={"width": width, "height": height})
    campaign = make_campaign("ocr", items=[{"payload": {"image": "campaigns/t/scan.png"}}], overlap=1,
                             config={"mode": "regions"})
    user = make_contributor()
    browser_login(page, user.email)
    open_campaign(page, live_server, campaign)
    expect(page.locator("[data-role=loading]")).to_be_hidden(timeout=10000)  # hidden once the image loaded
    assert page.locator("[data-role=image]").evaluate("img => img.naturalWidth") == width
    image_src = page.locator("[data-role=image]").get_attribute("src")
    assert image_src.startswith("/assets/m/") and "scan.png" not in image_src

    def transform():
        matrix = page.evaluate("getComputedStyle(document.querySelector('[data-role=stage]')).transform")
        a, _b, _c, _d, e, f = (float(v) for v in re.findall(r"-?[\d.]+(?:e-?\d+)?", matrix))
        return a, e, f

    fit_scale = transform()[0]
    page.click("[data-zoom=in]")
    assert transform()[0] > fit_scale * 1.2
    page.click("[data-zoom=fit]")
    assert transform()[0] == pytest.approx(fit_scale)
    assert page.locator("button[data-tool=rect]").get_attribute("aria-pressed") == "true"  # no regions yet: draw

    box = page.locator("[data-role=viewport]").bounding_box()
    scale, tx, ty = transform()
    start, end = (box["x"] + 30, box["y"] + ty + 10), (box["x"] + 250, box["y"] + ty + 50)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 60, start[1] + 20, steps=4)
    page.mouse.move(*end, steps=6)
    page.mouse.up()
    region_text = page.locator("textarea[data-region='0']")
    region_text.wait_for()
    assert region_text.evaluate("el => el === document.activeElement")
    page.keyboard.type("Xin chào Viêt")
    page.click(".vi-key[title='nặng']")  # the helper puts the tone on the right vowel: Viêt -> Việt
    assert region_text.input_value() == "Xin chào Việt"
    page.keyboard.type(" Nam")
    page.screenshot(path=str(artifacts_dir / "ocr-region-phone.png"), full_page=True)
    page.keyboard.press("Control+Enter")
    wait_done(page, 1, artifacts_dir, "ocr-region")
    region = Annotation.objects.get(campaign=campaign).payload["regions"][0]
    assert region["shape"] == "rect" and region["text"] == "Xin chào Việt Nam"
    # Stored in image pixels: the drag from screen to image coordinates through the zoom.
    assert region["x"] == pytest.approx((30 - tx) / scale, abs=1.5)
    assert region["y"] == pytest.approx(10 / scale, abs=1.5)
    assert region["w"] == pytest.approx(220 / scale, abs=1.5) and region["h"] == pytest.approx(40 / scale, abs=1.5)
    assert 0 <= region["x"] and region["x"] + region["w"] <= width
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]


def test_validate_a_recording(phone_page, live_server, browser_login, make_campaign, make_contributor, media_root,
                              artifacts_dir):
    page = phone_page
    data = ms.ogg(ms.voice(1.5, 16000), 16000)
    info = inspect_audio(data)
    store_media(key="campaigns/t/clip.ogg", data=data, kind="audio", content_type=info.content_type, info=info.as_dict())
    campaign = make_campaign(
        "speech_validation", overlap=1,
        items=[{"payload": {"audio": "campaigns/t/clip.ogg", "sentence": "Cho anh một ly cà phê sữa đá"}}],
    )
    user = make_contributor()
    browser_login(page, user.email)
    open_campaign(page, live_server, campaign)
    page.locator("[data-bind=sentence]", has_text="cà phê sữa đá").wait_for()
    assert page.locator("input[name=verdict][value=matches]").is_disabled()  # listen first
    expect(page.locator("[data-role=audio]")).to_have_attribute("src", re.compile("^/assets/m/"))
    page.click("[data-action=play]")
    expect(page.locator("input[name=verdict][value=matches]")).to_be_enabled(timeout=15000)
    page.keyboard.press("2")
    page.locator("[data-role=reasons-box]").wait_for(state="visible")
    page.click("label.choice:has(input[value=noise])")
    page.keyboard.press("1")  # changed my mind: it matches; reasons are dropped
    assert page.locator("[data-role=reasons-box]").is_hidden()
    page.screenshot(path=str(artifacts_dir / "speech-validation-phone.png"), full_page=True)
    page.keyboard.press("Control+Enter")
    wait_done(page, 1, artifacts_dir, "speech-validation")
    assert Annotation.objects.get(campaign=campaign).payload == {"verdict": "matches"}


def test_adjust_a_detected_region_and_draw_a_polygon_on_desktop(browser, live_server, browser_login,
                                                                 make_campaign, make_contributor, media_root,
                                                                 artifacts_dir):
    data, width, height, polygons = render_document(["Cà phê sữa đá   20.000đ", "Tổng cộng:   45.000đ"],
                                                    handwriting=False, seed=3)
    store_media(key="campaigns/t/receipt.png", data=data, kind="image", content_type="image/png",
                info={"width": width, "height": height})
    detected = [{"id": "r1", "shape": "polygon", "points": polygons[0]}]
    campaign = make_campaign("ocr", items=[{"payload": {"image": "campaigns/t/receipt.png", "regions": detected}}],
                             overlap=1, config={"mode": "regions"})
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    page = context.new_page()
    browser_login(page, make_contributor().email)
    open_campaign(page, live_server, campaign)
    expect(page.locator("[data-role=loading]")).to_be_hidden(timeout=10000)
    assert page.locator("button[data-tool=pan]").get_attribute("aria-pressed") == "true"  # regions given: adjust
    page.locator("[data-role=viewport]").evaluate("el => el.scrollIntoView({block: 'start'})")
    box = page.locator("[data-role=viewport]").bounding_box()
    matrix = page.evaluate("getComputedStyle(document.querySelector('[data-role=stage]')).transform")
    scale, _b, _c, _d, tx, ty = (float(v) for v in re.findall(r"-?[\d.]+(?:e-?\d+)?", matrix))

    def screen(x, y):
        return box["x"] + tx + x * scale, box["y"] + ty + y * scale

    # Select the detected region (tap inside it) and drag its first corner 10 px (image) up-left.
    cx = sum(p[0] for p in polygons[0]) / 4
    cy = sum(p[1] for p in polygons[0]) / 4
    page.mouse.click(*screen(cx, cy))
    handle = page.locator("circle.ocr-handle").first
    handle.wait_for()
    start = screen(*polygons[0][0])
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] - 10 * scale, start[1] - 10 * scale, steps=5)
    page.mouse.up()
    page.fill("textarea[data-region='0']", "Cà phê sữa đá 20.000đ")
    # A 4-point polygon around the second line, by keyboard tool choice and four clicks.
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("p")  # the polygon tool's shortcut
    assert page.locator("button[data-tool=polygon]").get_attribute("aria-pressed") == "true"
    for x, y in polygons[1]:
        page.mouse.click(*screen(x, y))
    page.locator("textarea[data-region='1']").wait_for()
    page.keyboard.type("Tổng cộng: 45.000đ")
    page.screenshot(path=str(artifacts_dir / "ocr-regions-desktop.png"))
    page.keyboard.press("Control+Enter")
    wait_done(page, 1, artifacts_dir, "ocr-polygon")
    first, second = Annotation.objects.get(campaign=campaign).payload["regions"]
    assert first["id"] == "r1" and first["text"] == "Cà phê sữa đá 20.000đ"
    assert first["points"][0] == pytest.approx([polygons[0][0][0] - 10, polygons[0][0][1] - 10], abs=1.0)
    assert first["points"][1:] == polygons[0][1:]
    assert second["shape"] == "polygon" and second["text"] == "Tổng cộng: 45.000đ"
    for got, want in zip(second["points"], polygons[1], strict=True):
        assert got == pytest.approx(want, abs=1.0)
    context.close()


def test_transcribe_with_speed_loop_and_the_diacritics_warning(phone_page, live_server, browser_login, make_campaign,
                                                               make_contributor, media_root, artifacts_dir):
    page = phone_page
    data = ms.ogg(ms.voice(2.0, 16000), 16000)
    info = inspect_audio(data)
    store_media(key="campaigns/t/talk.ogg", data=data, kind="audio", content_type=info.content_type, info=info.as_dict())
    campaign = make_campaign("speech_transcription", items=[{"payload": {"audio": "campaigns/t/talk.ogg"}}], overlap=1)
    browser_login(page, make_contributor().email)
    open_campaign(page, live_server, campaign)
    audio = page.locator("[data-role=audio]")
    expect(audio).to_have_attribute("src", re.compile("^/assets/m/"))
    page.select_option("[data-role=speed]", "0.5")
    page.check("input[name=loop]")
    assert audio.evaluate("a => [a.playbackRate, a.loop]") == [0.5, True]
    text = page.locator("textarea[name=text]")
    text.click()
    page.keyboard.press("Alt+k")  # play while typing
    expect(page.locator("[data-action=play]")).to_have_text(page.locator("[data-msg=pause]").text_content())
    page.keyboard.type("xin chao cac ban")
    page.keyboard.press("Control+Enter")
    warning = page.locator("[data-role=diacritics-warning]")
    expect(warning).to_be_visible()
    assert Annotation.objects.filter(campaign=campaign).count() == 0
    page.check("input[name=confirmed_no_diacritics]")
    page.screenshot(path=str(artifacts_dir / "speech-transcription-phone.png"), full_page=True)
    page.click("#btn-submit")
    wait_done(page, 1, artifacts_dir, "speech-transcription")
    payload = Annotation.objects.get(campaign=campaign).payload
    assert payload == {"text": "xin chao cac ban", "no_speech": False, "confirmed_no_diacritics": True}


def test_fill_the_fields_of_a_form(phone_page, live_server, browser_login, make_campaign, make_contributor,
                                   media_root, artifacts_dir):
    page = phone_page
    data, width, height, _ = render_document(["Họ và tên: Lê Hoàng Yến", "Ngày sinh: 30/04/2001"],
                                             handwriting=True, seed=5)
    store_media(key="campaigns/t/form.png", data=data, kind="image", content_type="image/png",
                info={"width": width, "height": height})
    campaign = make_campaign("ocr", items=[{"payload": {"image": "campaigns/t/form.png"}}], overlap=1,
                             config={"mode": "fields"})
    browser_login(page, make_contributor().email)
    open_campaign(page, live_server, campaign)
    expect(page.locator("[data-role=loading]")).to_be_hidden(timeout=10000)
    assert page.locator("button[data-tool=rect]").is_hidden()  # no drawing in this mode
    expect(page.locator("label[for=ocr-field-ho_va_ten]")).to_have_text("Họ và tên *")
    page.fill("#ocr-field-ho_va_ten", "Lê Hoàng Yến")
    page.click("#btn-submit")  # the date of birth is required
    expect(page.locator("[data-error-for='fields.ngay_sinh']")).to_be_visible()
    page.fill("#ocr-field-ngay_sinh", "30/04/2001")
    page.screenshot(path=str(artifacts_dir / "ocr-fields-phone.png"), full_page=True)
    page.click("#btn-submit")
    wait_done(page, 1, artifacts_dir, "ocr-fields")
    assert Annotation.objects.get(campaign=campaign).payload == {
        "fields": {"ho_va_ten": "Lê Hoàng Yến", "ngay_sinh": "30/04/2001", "dia_chi": ""}}


def test_pinch_zoom_and_drag_pan_on_a_touch_phone(browser, live_server, browser_login, make_campaign,
                                                  make_contributor, media_root):
    data, width, height, _ = render_document(["Xin chào"], handwriting=False, seed=2)
    store_media(key="campaigns/t/small.png", data=data, kind="image", content_type="image/png",
                info={"width": width, "height": height})
    campaign = make_campaign("ocr", items=[{"payload": {"image": "campaigns/t/small.png"}}], overlap=1,
                             config={"mode": "full_page"})
    context = browser.new_context(viewport=PHONE, locale="vi-VN", has_touch=True, is_mobile=True)
    page = context.new_page()
    browser_login(page, make_contributor().email)
    open_campaign(page, live_server, campaign)
    expect(page.locator("[data-role=loading]")).to_be_hidden(timeout=10000)
    page.locator("[data-role=viewport]").evaluate("el => el.scrollIntoView({block: 'start'})")
    box = page.locator("[data-role=viewport]").bounding_box()
    cdp = context.new_cdp_session(page)

    def transform():
        matrix = page.evaluate("getComputedStyle(document.querySelector('[data-role=stage]')).transform")
        return [float(v) for v in re.findall(r"-?[\d.]+(?:e-?\d+)?", matrix)]

    def touch(kind, points):
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
            {"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]})

    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    before = transform()
    touch("touchStart", [(cx - 20, cy), (cx + 20, cy)])
    for step in range(1, 6):
        touch("touchMove", [(cx - 20 - 12 * step, cy), (cx + 20 + 12 * step, cy)])
    touch("touchEnd", [])
    zoomed = transform()
    assert zoomed[0] > before[0] * 2  # fingers 40 px -> 160 px apart: about 4x
    touch("touchStart", [(cx, cy)])
    for step in range(1, 6):
        touch("touchMove", [(cx + 10 * step, cy + 6 * step)])
    touch("touchEnd", [])
    panned = transform()
    assert panned[0] == pytest.approx(zoomed[0])
    assert panned[4] == pytest.approx(zoomed[4] + 50, abs=2) and panned[5] == pytest.approx(zoomed[5] + 30, abs=2)
    context.close()
