"""Spans in Debian's chromium under the site's CSP: spans and a relation on a Vietnamese sentence by touch at
360 px and by keyboard at 1366 px, then an audio segment on the wavesurfer.js waveform."""
import pytest
from django.urls import reverse
from playwright.sync_api import expect

from annotations.models import Annotation
from tests.browser.conftest import no_horizontal_scroll
from tests.helpers import wait_for_celery_idle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TEXT = "Bà Nguyễn Thị Hương làm việc tại Bệnh viện Bạch Mai ở Hà Nội."
CONFIG = {"labels": [{"value": "PER", "name": "Người"}, {"value": "LOC", "name": "Địa điểm"},
                     {"value": "ORG", "name": "Tổ chức"}],
          "relation_labels": ["làm_việc_tại", "ở"], "attributes": [{"key": "uncertain", "type": "boolean"}]}


@pytest.fixture(autouse=True)
def settle_worker():
    yield
    wait_for_celery_idle()


def open_page(page, live_server, browser_login, make_contributor, campaign, user=None):
    if user is None:
        user = make_contributor()
        browser_login(page, user.email)
    page.goto(f"{live_server.url}{reverse('label-campaign', args=[campaign.pk])}")
    page.locator("#instructions").wait_for(state="visible")
    page.click("[data-close=instructions]")
    return user


def tok(page, text: str):
    return page.locator(".spans .tok", has_text=text).first


def stored(user) -> dict:
    return Annotation.objects.get(contributor=user).payload


def wait_done(page, n: int = 1):
    expect(page.locator("#done-count")).to_have_text(str(n))  # no string predicates: the page's CSP forbids eval


def test_touch_at_360px(phone, live_server, browser_login, make_campaign, make_contributor, artifacts_dir):
    page = phone
    campaign = make_campaign("spans", items=[{"payload": {"text": TEXT}}], overlap=1, config=CONFIG)
    user = open_page(page, live_server, browser_login, make_contributor, campaign)
    tok(page, "Nguyễn").wait_for()
    assert no_horizontal_scroll(page)
    # First then last syllable, then a label: a person.
    tok(page, "Nguyễn").tap()
    tok(page, "Hương").tap()
    page.tap(".spans [data-label=PER]")
    # A one-syllable tap plus label, then a three-syllable organisation.
    tok(page, "Bệnh").tap()
    tok(page, "Mai").tap()
    page.tap(".spans [data-label=ORG]")
    assert page.locator(".span-chip").count() == 2
    # Relation: select the person in the list, "relation", tap the hospital, pick the label.
    page.locator(".span-chip", has_text="Nguyễn Thị Hương").locator(".chip-pick").tap()
    page.tap("[data-action=relation]")
    tok(page, "viện").tap()
    page.tap("[data-relation=làm_việc_tại]")
    assert page.locator(".relation").count() == 1
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts_dir / "spans-phone.png"), full_page=True)
    page.tap("#btn-submit")
    wait_done(page)
    answer = stored(user)
    assert [(s["text"], s["label"]) for s in answer["spans"]] == [("Nguyễn Thị Hương", "PER"),
                                                                  ("Bệnh viện Bạch Mai", "ORG")]
    by_id = {s["id"]: s["text"] for s in answer["spans"]}
    assert [(by_id[r["from"]], by_id[r["to"]], r["label"]) for r in answer["relations"]] == [
        ("Nguyễn Thị Hương", "Bệnh viện Bạch Mai", "làm_việc_tại")]


def test_keyboard_at_1366px_then_an_audio_segment(page, live_server, browser_login, make_campaign, make_contributor,
                                                  settings, tmp_path):
    """One page for both (a browser test costs a live server and a table flush): text by keyboard with a
    model's suggestions to correct, then a segment on the waveform of a recording."""
    page.set_viewport_size({"width": 1366, "height": 800})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    start = TEXT.index("Hà Nội")
    pre = {"spans": [{"id": "m1", "start": start, "end": start + 6, "label": "PER"}]}  # the model's wrong label
    campaign = make_campaign("spans", items=[{"payload": {"text": TEXT, "pre_annotations": pre}}], overlap=1,
                             config=CONFIG)
    user = open_page(page, live_server, browser_login, make_contributor, campaign)
    tok(page, "Bà").wait_for()
    page.locator(".span-chip", has_text="Hà Nội").wait_for()
    kb = page.keyboard
    # The cursor starts on "Bà": Right to "Nguyễn", Shift+Right twice to "Hương", 1 = PER.
    kb.press("ArrowRight")
    kb.press("Shift+ArrowRight")
    kb.press("Shift+ArrowRight")
    kb.press("1")
    # N/P move between spans: P from the new span wraps to the model's "Hà Nội"; 2 relabels it LOC.
    kb.press("p")
    assert "Hà Nội" in page.locator(".span-chip.chosen").text_content()
    kb.press("2")
    # Relation from the person (N wraps to it) to "Hà Nội" (N in relation mode), label 2 = "ở".
    kb.press("n")
    assert "Nguyễn" in page.locator(".span-chip.chosen").text_content()
    kb.press("r")
    kb.press("n")
    kb.press("2")
    assert page.locator(".relation").count() == 1
    # A stray span made and deleted with the keyboard.
    kb.press("ArrowRight")
    kb.press("3")
    assert page.locator(".span-chip").count() == 3
    kb.press("Delete")
    assert page.locator(".span-chip").count() == 2
    kb.press("Control+Enter")
    wait_done(page)
    answer = Annotation.objects.get(contributor=user, campaign=campaign).payload
    assert [(s["text"], s["label"]) for s in answer["spans"]] == [("Nguyễn Thị Hương", "PER"), ("Hà Nội", "LOC")]
    assert [r["label"] for r in answer["relations"]] == ["ở"]
    assert answer["corrections"]["relabelled"] == 1 and answer["corrections"]["added"] == 1

    # Audio: a segment at the playhead, labelled by key, with a transcript.
    settings.MEDIA_ROOT = tmp_path / "media"
    from task_types.spans.demo import demo_dialogue

    key, duration, _segments = demo_dialogue("campaigns/spans/browser.ogg")
    campaign = make_campaign("spans", items=[{"payload": {"audio": key}}], overlap=1, config={
        "media": "audio", "labels": [{"value": "A", "kind": "speaker"}, {"value": "noise", "kind": "noise"}]})
    open_page(page, live_server, browser_login, make_contributor, campaign, user)
    expect(page.locator(".spans[data-ready='1']")).to_have_count(1)
    page.keyboard.press("a")  # a segment at the playhead (0 s, 2 s long)
    page.keyboard.press("2")  # labelled noise
    page.locator("[data-role=transcript]").fill("tiếng ồn")
    page.locator("[data-role=transcript]").press("Escape")
    page.keyboard.press("Control+Enter")
    wait_done(page)  # the count is per campaign
    segment = Annotation.objects.get(contributor=user, campaign=campaign).payload["segments"][0]
    assert (segment["start"], segment["end"], segment["label"], segment["transcript"]) == (0.0, 2.0, "noise", "tiếng ồn")
    assert not errors, errors
