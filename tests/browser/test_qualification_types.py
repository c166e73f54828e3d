"""Issue 20 in Debian's chromium on a 360 px phone: the demo qualification test of every gradable task type shows
its answer controls and is passed. Each question's gold answer is put in through the type's own widget
(``TaskTypes[key].restore``, the path the page uses to bring back an answer when the contributor goes Back), then
sent with the page's Next button, so the type's render, collect and the page's submit all run for real. Questions
appear in their original order (identity view) so a gold answer written in that order lands where it should."""
import pytest
from playwright.sync_api import expect

from contributors import services
from contributors.models import QualificationAttempt
from tasks.types import get_task_type
from tests.browser.conftest import no_horizontal_scroll
from tests.test_demo_qualifications import NO_TEST

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TYPES = ["arena", "conversation", "hallucination", "image", "moderation", "ocr", "rlhf", "sft", "spans",
         "speech_transcription", "speech_validation", "survey", "video"]
MEDIA = {  # the media each type shows, loaded from the attempt's media endpoint (a test has no assignment)
    "image": "() => document.querySelector('#task-area [data-role=image-annotation]').dataset.loaded === '1'",
    "video": "() => document.querySelector('#task-area [data-role=video-annotation]').dataset.loaded === '1'",
    "ocr": "() => { const i = document.querySelector('#task-area img'); return i && i.complete && i.naturalWidth > 0; }",
    "speech_transcription": "() => { const a = document.querySelector('#task-area audio'); return a && a.src; }",
    "speech_validation": "() => { const a = document.querySelector('#task-area audio'); return a && a.src; }",
}
CONTROLS = "input:visible, button:visible, textarea:visible, select:visible, [role=radio]:visible"


def test_the_list_covers_every_gradable_type():
    from tasks.types import all_task_types

    assert set(TYPES) == {t.key for t in all_task_types()} - NO_TEST


@pytest.mark.parametrize("key", TYPES)
def test_pass_the_demo_qualification(phone, live_server, browser_login, make_contributor, artifacts_dir, key):
    user, attempt, entries = _start(key, make_contributor)
    gold = [entry["gold_answer"] for entry in entries]

    page = phone
    page.set_default_timeout(30000)  # a loaded 2-core machine runs other tests and the worker too
    browser_login(page, user.email)
    page.goto(f"{live_server.url}/me/qualifications/{key}/")
    for n, answer in enumerate(gold, start=1):
        page.wait_for_function("n => document.getElementById('q-progress').textContent.includes(String(n))", arg=n)
        area = page.locator("#task-area")
        expect(area.locator(CONTROLS).first).to_be_visible()  # the answer controls render in the test
        if key in MEDIA:
            page.wait_for_function(MEDIA[key])
        if n == 1:
            assert no_horizontal_scroll(page), f"{key}: the qualification page scrolls sideways at 360 px"
            page.screenshot(path=str(artifacts_dir / f"qualification-{key}.png"), full_page=True)
        page.evaluate("([key, answer]) => window.TaskTypes[key].restore(answer)", [key, answer])
        page.click("#q-next")
    expect(page.locator("#q-result")).to_have_attribute("data-state", "passed", timeout=20000)
    attempt.refresh_from_db()
    assert attempt.state == QualificationAttempt.State.PASSED


def _start(key, make_contributor):
    task = get_task_type(key)
    spec = task.demo_qualification()
    services.create_qualification_test(
        task_type=key, title=f"{key} test", config=spec.config, instructions=spec.instructions,
        items=[{"payload": e["payload"], "gold_answer": e["gold_answer"]} for e in spec.items], pass_mark=1.0)
    user = make_contributor()
    attempt = services.start_qualification_attempt(user=user, task_type=key)
    attempt.views = [{}] * len(attempt.item_ids)
    attempt.save(update_fields=["views"])
    positions = dict(attempt.test.items.values_list("pk", "position"))
    return user, attempt, [spec.items[positions[item_id]] for item_id in attempt.item_ids]


# One per widget family, answered as a person would (keys, typing, ticking), not through restore: choice buttons
# (arena; moderation's keys are in test_contributor_onboarding.py), free text (SFT), form fields over an image
# (OCR), a checkbox beside a player (speech transcription).
def _answer_arena(page, entry):
    page.keyboard.press("a")


def _answer_sft(page, entry):
    page.fill("#task-area textarea[name=response]", entry["gold_answer"]["response"])


def _answer_ocr(page, entry):
    for field, value in entry["gold_answer"]["fields"].items():
        page.fill(f"#task-area input[data-field='{field}']", value)


def _answer_speech_transcription(page, entry):
    page.check("#task-area input[name=no_speech]")


BY_HAND = {"arena": _answer_arena, "sft": _answer_sft, "ocr": _answer_ocr,
           "speech_transcription": _answer_speech_transcription}


@pytest.mark.parametrize("key", sorted(BY_HAND))
def test_pass_by_hand_one_per_widget_family(phone, live_server, browser_login, make_contributor, key):
    user, attempt, entries = _start(key, make_contributor)
    page = phone
    page.set_default_timeout(30000)  # a loaded 2-core machine runs other tests and the worker too
    browser_login(page, user.email)
    page.goto(f"{live_server.url}/me/qualifications/{key}/")
    for n, entry in enumerate(entries, start=1):
        page.wait_for_function("n => document.getElementById('q-progress').textContent.includes(String(n))", arg=n)
        if key in MEDIA:
            page.wait_for_function(MEDIA[key])
        BY_HAND[key](page, entry)
        page.click("#q-next")
    expect(page.locator("#q-result")).to_have_attribute("data-state", "passed", timeout=20000)
