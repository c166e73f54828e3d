"""The labelling page at a 360x740 phone viewport, offline and back, and in English."""
import pytest
from django.urls import reverse
from playwright.sync_api import expect

from annotations.models import Annotation
from tests.browser.conftest import no_horizontal_scroll
from tests.helpers import wait_for_celery_idle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def settle_worker():
    """Let a live worker finish scoring this test's answers before the tables are truncated."""
    yield
    wait_for_celery_idle()


def test_phone_hallucination_offline_retry_and_help(phone, live_server, browser_login, make_campaign, make_contributor,
                                                   artifacts_dir):
    page = phone
    long_word = "Một_từ_rất_dài_không_có_khoảng_trắng_" * 8
    campaign = make_campaign("hallucination", overlap=1, config={"trusted_sources": ["gov.vn"]}, items=[
        {"payload": {"prompt": "Thủ đô của Việt Nam?", "response": f"Hà Nội là thủ đô. {long_word}."}},
        {"payload": {"prompt": "Câu hỏi thứ hai?", "response": "Đây là câu thứ hai."}},
    ])
    user = make_contributor()
    browser_login(page, user.email)
    page.goto(f"{live_server.url}{reverse('label-campaign', args=[campaign.pk])}")
    page.locator("#instructions").wait_for(state="visible")
    page.click("[data-close=instructions]")
    page.locator(".claim").first.wait_for()
    assert page.locator(".claim").count() == 2
    assert no_horizontal_scroll(page), "the page scrolls sideways at 360 px"
    # Large touch targets on the controls a thumb uses.
    for selector in (".claim .choice", "#btn-submit", "#btn-instructions"):
        box = page.locator(selector).first.bounding_box()
        assert box["height"] >= 44, (selector, box)
    # Instructions one tap away; the help overlay lists this type's shortcuts.
    page.tap("#btn-instructions")
    assert page.locator("#instructions").is_visible()
    page.tap("[data-close=instructions]")
    page.tap("#btn-help")
    assert page.locator("#help").get_by_text("Nhận định tiếp / trước").is_visible()
    page.tap("[data-close=help]")
    first, second = page.locator(".claim").nth(0), page.locator(".claim").nth(1)
    first.locator("label:has(input[value=supported])").tap()
    first.locator("input[data-name=evidence_url]").fill("https://chinhphu.gov.vn/thu-do")
    first.locator("textarea[data-name=quote]").fill("Hà Nội là Thủ đô của nước Cộng hòa xã hội chủ nghĩa Việt Nam")
    second.locator("label:has(input[value=not_claim])").tap()
    page.select_option("select[name=overall]", "accurate")
    page.select_option("select[name=severity]", "none")
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts_dir / "label-phone-hallucination.png"), full_page=True)
    # The connection drops: the banner says so and the submission keeps retrying with one key.
    page.context.set_offline(True)
    page.tap("#btn-submit")
    page.locator("#offline-banner").wait_for(state="visible")
    page.screenshot(path=str(artifacts_dir / "label-phone-offline.png"))
    assert not Annotation.objects.filter(campaign=campaign).exists()
    page.context.set_offline(False)
    expect(page.locator("#done-count")).to_have_text("1", timeout=20000)
    page.locator("#offline-banner").wait_for(state="hidden")
    expect(page.locator("[data-bind=prompt]")).to_have_text("Câu hỏi thứ hai?")
    stored = Annotation.objects.get(campaign=campaign, contributor=user)
    assert stored.idempotency_key
    assert stored.payload["claims"][0]["evidence_url"] == "https://chinhphu.gov.vn/thu-do"


def test_english_interface_and_category_labels(page, live_server, browser_login, make_campaign, make_contributor):
    campaign = make_campaign(items=[{"payload": {"text": "Mua 1 tặng 1!!!"}}], overlap=1)
    user = make_contributor()
    browser_login(page, user.email)
    page.goto(f"{live_server.url}{reverse('label-campaign', args=[campaign.pk])}")
    page.select_option("select[name=language]", "en")
    page.wait_for_load_state()
    page.locator("html[lang=en]").wait_for(state="attached")
    page.locator("label.choice:has-text('Spam / scam')").wait_for()
    assert page.locator("#btn-submit").text_content().strip() == "Submit"
    page.keyboard.press("Escape")
    page.keyboard.press("4")
    page.keyboard.press("Control+Enter")
    page.locator("#no-work").wait_for(state="visible")
    assert Annotation.objects.get(campaign=campaign, contributor=user).payload["categories"] == ["spam"]


def test_every_text_type_renders_under_the_csp(phone, live_server, browser_login, make_campaign, make_contributor):
    """No inline script or handler: each type's page renders with the CSP enforced and no console error."""
    page = phone
    campaigns = {
        "moderation": make_campaign(items=[{"payload": {"text": "Xin chào"}}], overlap=1),
        "rlhf": make_campaign("rlhf", overlap=1, config={"mode": "rubric"},
                              items=[{"payload": {"prompt": "Chào", "responses": [{"text": "Một"}, {"text": "Hai"}]}}]),
        "hallucination": make_campaign("hallucination", overlap=1, config={"trusted_sources": []},
                                       items=[{"payload": {"prompt": "Hỏi", "response": "Đáp một. Đáp hai."}}]),
        "sft": make_campaign("sft", overlap=1, config={"mode": "write_pair"}, items=[{"payload": {"topic": "Phở"}}]),
    }
    browser_login(page, make_contributor().email)
    for key, campaign in campaigns.items():
        page.goto(f"{live_server.url}{reverse('label-campaign', args=[campaign.pk])}")
        bound = {"moderation": "text", "rlhf": "prompt", "hallucination": "prompt", "sft": "topic"}[key]
        expect(page.locator(f"[data-bind={bound}]")).not_to_have_text("")
        assert no_horizontal_scroll(page), key
