"""Model suggestions in the labelling page (Playwright on Debian's chromium): pre-filled, then as a hint;
what the contributor did with each is classified by the server from the stored answers."""
import subprocess
import sys

import httpx
import pytest
from django.urls import reverse

from annotations.models import Annotation
from assist import services
from assist.models import AssistSettings, Exposure, ModelBackend
from tests.helpers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stub_url():
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "ml_backend_stub.py")], stdout=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()
    url = f"http://127.0.0.1:{int(line.split()[1])}"
    httpx.post(f"{url}/_control", json={"answer": {"categories": ["spam"]}, "score": 0.87}, timeout=5)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def _wait_item(page, previous: str) -> str:
    page.wait_for_function(
        "prev => { const t = document.querySelector('[data-bind=text]').textContent;"
        " return t.length > 0 && t !== prev; }", arg=previous)
    return page.locator("[data-bind=text]").text_content()


def test_prefill_then_hint_and_the_server_classifies_what_was_done(
        page, live_server, browser_login, make_campaign, make_contributor, stub_url, artifacts_dir):
    campaign = make_campaign(items=[{"payload": {"text": f"Khuyến mãi số {i}"}} for i in range(3)], overlap=1)
    settings = AssistSettings.objects.create(campaign=campaign, policy="prefill", control_share=0.0)
    backend = ModelBackend.objects.create(campaign=campaign, name="stub", url=stub_url)
    assert services.predict(backend=backend, item_ids=list(campaign.items.values_list("id", flat=True))) == 3
    user = make_contributor()
    browser_login(page, user.email)
    page.goto(f"{live_server.url}{reverse('label-campaign', args=[campaign.pk])}")
    page.locator("#instructions").wait_for(state="visible")
    page.keyboard.press("Escape")
    spam = page.locator("label.choice input[value='spam']")

    # 1. Pre-filled: the widget holds the suggestion; sent unchanged.
    text = _wait_item(page, "")
    page.locator("#suggestion-box").wait_for(state="visible")
    page.wait_for_function("document.querySelector('label.choice input:checked') !== null")
    assert spam.is_checked()
    assert "87%" in page.locator("#suggestion-score").text_content()
    assert page.locator("#btn-use-suggestion").is_hidden()
    page.screenshot(path=str(artifacts_dir / "assist-prefill.png"))
    page.keyboard.press("Control+Enter")

    # 2. Pre-filled again; the contributor disagrees. The policy changes to "hint" for the next item.
    text = _wait_item(page, text)
    page.wait_for_function("document.querySelector('label.choice input:checked') !== null")
    settings.policy = "hint"
    settings.save()
    page.click("label.choice:has(input[value='safe'])")
    page.keyboard.press("Control+Enter")

    # 3. A hint: shown beside the widget, nothing chosen until the contributor uses it.
    _wait_item(page, text)
    page.locator("#btn-use-suggestion").wait_for(state="visible")
    assert page.locator("label.choice input:checked").count() == 0
    page.screenshot(path=str(artifacts_dir / "assist-hint.png"))
    page.click("#btn-use-suggestion")
    assert spam.is_checked()
    page.keyboard.press("Control+Enter")
    page.locator("#no-work").wait_for(state="visible")

    assert Annotation.objects.filter(campaign=campaign).count() == 3
    services.classify_exposures(campaign_id=campaign.pk)
    got = list(Exposure.objects.filter(campaign=campaign).order_by("id").values_list("policy", "outcome"))
    assert got == [("prefill", "accepted"), ("prefill", "rejected"), ("hint", "accepted")]


SFT_SUGGESTION = ("Cho hai thìa cà phê phin vào, rót nước sôi, đợi cà phê nhỏ giọt hết rồi khuấy với sữa đặc "
                  "và thêm đá.")


def test_a_text_suggestion_is_prefilled_like_a_draft_and_an_edit_is_measured(
        page, live_server, browser_login, make_campaign, make_contributor, stub_url):
    """The same mechanism on another type (sft): the suggestion goes through the type's own restore."""
    httpx.post(f"{stub_url}/_control", json={"answer": {"response": SFT_SUGGESTION}, "score": 0.7}, timeout=5)
    campaign = make_campaign("sft", items=[{"payload": {"instruction": "Pha cà phê sữa đá thế nào?"}}], overlap=1)
    AssistSettings.objects.create(campaign=campaign, policy="prefill", control_share=0.0)
    backend = ModelBackend.objects.create(campaign=campaign, name="stub", url=stub_url)
    assert services.predict(backend=backend, item_ids=list(campaign.items.values_list("id", flat=True))) == 1
    user = make_contributor()
    browser_login(page, user.email)
    page.goto(f"{live_server.url}{reverse('label-campaign', args=[campaign.pk])}")
    page.locator("#instructions").wait_for(state="visible")
    page.keyboard.press("Escape")
    box = page.locator("textarea[name=response]")
    page.wait_for_function("document.querySelector('textarea[name=response]').value.length > 0")
    assert box.input_value() == SFT_SUGGESTION
    box.press("End")
    page.keyboard.type(" Chúc ngon miệng!")
    page.keyboard.press("Control+Enter")
    page.locator("#no-work").wait_for(state="visible")
    services.classify_exposures(campaign_id=campaign.pk)
    exposure = Exposure.objects.get(campaign=campaign)
    assert Annotation.objects.get(campaign=campaign).payload["response"] == SFT_SUGGESTION + " Chúc ngon miệng!"
    assert (exposure.outcome, exposure.chars_changed, exposure.words_changed) == ("edited", 17, 3)


def test_rlhf_suggestion_lands_on_the_shown_position_of_the_suggested_response(
        page, live_server, browser_login, make_campaign, make_contributor, stub_url):
    """Responses are shown in a random order per contributor: the suggestion (written, like gold, in the
    original order) must select the same response wherever it is shown, and be stored as such."""
    from task_types.rlhf.task import _original_choice

    httpx.post(f"{stub_url}/_control", json={"answer": {"choice": "A", "strength": 2}, "score": 0.9}, timeout=5)
    items = [{"payload": {"prompt": f"Thủ đô của Việt Nam? ({i})",
                          "responses": [{"text": f"Hà Nội {i}."}, {"text": f"Huế {i}."}]}} for i in range(4)]
    campaign = make_campaign("rlhf", items=items, overlap=1)
    AssistSettings.objects.create(campaign=campaign, policy="prefill", control_share=0.0)
    backend = ModelBackend.objects.create(campaign=campaign, name="stub", url=stub_url)
    assert services.predict(backend=backend, item_ids=list(campaign.items.values_list("id", flat=True))) == 4
    user = make_contributor()
    browser_login(page, user.email)
    page.goto(f"{live_server.url}{reverse('label-campaign', args=[campaign.pk])}")
    page.locator("#instructions").wait_for(state="visible")
    page.keyboard.press("Escape")
    previous = ""
    for _ in range(4):
        page.wait_for_function("prev => { const t = document.querySelector('[data-bind=prompt]').textContent;"
                               " return t.length > 0 && t !== prev; }", arg=previous)
        previous = page.locator("[data-bind=prompt]").text_content()
        page.wait_for_function("document.querySelector('input[name=choice]:checked') !== null")
        chosen = page.locator("input[name=choice]:checked").get_attribute("value")
        shown = page.locator("[data-role=responses] [data-bind=text]").nth("AB".index(chosen)).text_content()
        assert shown.startswith("Hà Nội"), (chosen, shown)
        page.keyboard.press("Control+Enter")
        page.wait_for_function("prev => document.querySelector('[data-bind=prompt]').textContent !== prev"
                               " || !document.getElementById('no-work').hidden", arg=previous)
    page.locator("#no-work").wait_for(state="visible")
    services.classify_exposures(campaign_id=campaign.pk)
    assert set(Exposure.objects.filter(campaign=campaign).values_list("outcome", flat=True)) == {"accepted"}
    assert {_original_choice(a.payload) for a in Annotation.objects.filter(campaign=campaign)} == {0}
