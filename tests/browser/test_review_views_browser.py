"""The review item page of every demo task type in Debian's chromium: each item and answer drawn by the type's
own page module (no raw JSON anywhere, no console error), at 1366 px in English and at 360 px in Vietnamese,
with screenshots under test-artifacts/."""
import re

import pytest
from django.urls import reverse

from tests.review_samples import answer_demo_items
from web.demo import DEMO_PASSWORD, load_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JSON_LIKE = re.compile(r'\{\s*"|"\s*:\s*[\[{"\d]|\[\s*\{')
PHONE_TYPES = ("rlhf", "hallucination", "sft", "ocr", "moderation", "speech_validation", "spans")


def open_review(page, url: str) -> dict:
    """Open an item's review page and wait until every framed view has drawn (or said it cannot)."""
    page.goto(url)
    page.wait_for_function("""() => Array.from(document.querySelectorAll('iframe.readonly-frame')).every((f) => {
        const d = f.contentDocument;
        return d && d.readyState === 'complete' && d.querySelector('form.readonly-task')
          && f.style.height !== ''; })""", timeout=20000)
    page.wait_for_timeout(300)  # media (images, audio) settle
    return page.evaluate("""() => {
        const frames = Array.from(document.querySelectorAll('iframe.readonly-frame')).map((f) => {
          const d = f.contentDocument;
          return {
            key: f.dataset.frame,
            text: d.body.innerText,
            failed: !d.getElementById('readonly-failed').hidden,
            chosen: d.querySelectorAll('.response.chosen').length,
            diffIns: d.querySelectorAll('.sft-diff ins').length,
            diffDel: d.querySelectorAll('.sft-diff del').length,
            checked: d.querySelectorAll('input:checked').length,
            links: d.querySelectorAll('a.evidence-link[href^="http"]').length,
            overlay: d.querySelectorAll('[data-role="overlay"] polygon, [data-role="overlay"] rect').length,
            overflow: d.documentElement.scrollWidth > d.documentElement.clientWidth + 1,
            height: f.getBoundingClientRect().height,
          };
        });
        const waves = Array.from(document.querySelectorAll('figure.media-preview audio')).map((a) => ({
          canvas: !!a.parentElement.querySelector('canvas.media-waveform'),
          label: (a.parentElement.querySelector('[data-role="duration"]') || {}).textContent || '' }));
        const wide = Array.from(document.querySelectorAll('#content *')).filter((el) =>
          el.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map((el) => `${el.tagName}.${el.className}#${el.id}`);
        return { text: document.getElementById('content').innerText, frames, waves, wide,
                 overflow: document.documentElement.scrollWidth > window.innerWidth + 1 };
    }""")


def answer_frames(state: dict) -> list[dict]:
    return [f for f in state["frames"] if not f["key"].endswith(("-0", "-consensus"))]


def check_page(state: dict, label: str) -> None:
    assert not JSON_LIKE.search(state["text"]), (label, state["text"][:800])
    for frame in state["frames"]:
        assert not frame["failed"], label
        assert frame["height"] > 40, label
        assert not JSON_LIKE.search(frame["text"]), (label, frame["text"][:800])
        assert "Infinity" not in frame["text"], label


@pytest.fixture
def review_browser(browser, live_server):
    contexts, errors = [], []

    def open_context(viewport: dict, locale: str, email: str):
        context = browser.new_context(viewport=viewport, locale=locale, bypass_csp=False)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error"
                and "Failed to load resource" not in m.text else None)
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=login]", email)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("form[action*='login'] button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login" not in url)
        return page

    yield open_context, errors
    for context in contexts:
        context.close()


def test_review_view_of_every_demo_type(review_browser, live_server, artifacts_dir):
    open_context, errors = review_browser
    demo = load_demo()
    answered = answer_demo_items(demo["contributors"])
    wide = open_context({"width": 1366, "height": 800}, "en-US", demo["manager"].email)
    phone = open_context({"width": 360, "height": 740}, "vi-VN", demo["manager"].email)
    seen = {}
    for campaign, item, answers in answered:
        key, mode = campaign.task_type, campaign.config.get("mode") or ""
        label = f"{key}-{mode}-{campaign.pk}".replace("--", "-")
        url = f"{live_server.url}{reverse('review:item', args=[item.pk])}"
        state = open_review(wide, url)
        check_page(state, label)
        assert len(state["frames"]) in (1 + len(answers), 2 + len(answers)), label  # + the consensus, when drawn
        wide.screenshot(path=str(artifacts_dir / f"review-{label}-1366-en.png"), full_page=True)
        seen[(key, mode)] = state
        if key in PHONE_TYPES and (key, "phone") not in seen:
            small = open_review(phone, url)
            check_page(small, label)
            assert not small["overflow"], (label, small["wide"])
            assert not any(f["overflow"] for f in small["frames"]), label
            phone.screenshot(path=str(artifacts_dir / f"review-{label}-360-vi.png"), full_page=True)
            seen[(key, "phone")] = small
    assert not errors, errors

    # What each type's own module adds in review.
    rlhf = seen[("rlhf", "pairwise")]
    assert [f["chosen"] for f in answer_frames(rlhf)] == [1, 1, 1]  # every answer marks the response it chose
    assert [f["chosen"] for f in rlhf["frames"] if f["key"].endswith("-consensus")] == [1]  # so does the consensus
    sft = answer_frames(seen[("sft", "edit_draft")])
    assert all(f["diffIns"] and f["diffDel"] for f in sft)
    assert all(f["overlay"] >= 1 for f in seen[("ocr", "regions")]["frames"])
    assert all(f["checked"] >= 1 for f in answer_frames(seen[("speech_validation", "")]))
    assert all(f["checked"] >= 1 for f in answer_frames(seen[("moderation", "")]))
    assert all(f["links"] >= 1 for f in answer_frames(seen[("hallucination", "")]))  # evidence opens
    recording = answer_frames(seen[("speech_recording", "")])
    assert recording and all("Validation votes" in f["text"] and "Matches the sentence: 2" in f["text"] for f in recording)
    # Recordings: a waveform and the real duration (the WebM answers and the validation item's audio).
    for kind in ("speech_recording", "speech_validation"):
        waves = seen[(kind, "")]["waves"]
        assert waves and all(w["canvas"] and re.fullmatch(r"\d+[.,]\d s", w["label"]) for w in waves), (kind, waves)
