"""Layout defects seen in issue #20, each measured in Debian's chromium at the viewport where it was seen.

- English verdict labels clipped at 1366 px on the hallucination page ("Supportec");
- the admin campaign list wider than its column at 1366 px (the console links cut off on the right);
- a 7-point rubric scale wrapping 5 + 2 at 360 px;
- on a 360x740 phone, the header and the sticky action bar leaving under half the screen for the task, and
  controls (the escalation checkbox, a recording's verdict) scrolled into view under the sticky bar.
"""
import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.test_admin_console import make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
LAPTOP = {"width": 1366, "height": 800}


@pytest.fixture
def open_page(browser, live_server, browser_login, settings):
    # One headless chromium is one device to the per-device log-in limit (30 an hour): not what is tested here.
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_device": "10000/m/key"}
    contexts = []

    def open_(user, path, *, viewport, language):
        phone = viewport is PHONE
        context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone, locale="vi-VN")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        browser_login(page, user.email)
        context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        page.goto(live_server.url + path)
        if page.locator("#instructions").count():
            page.locator("#instructions").wait_for(state="visible")
            page.locator("[data-close=instructions]").click()
        return page

    yield open_
    for context in contexts:
        context.close()


def clipped_choices(page, selector: str) -> list[str]:
    """Choices whose text runs past their own box (what the eye reads as a clipped "Supportec")."""
    return page.evaluate("""(sel) => Array.from(document.querySelectorAll(sel)).filter(el => {
        const box = el.getBoundingClientRect();
        return el.scrollWidth > el.clientWidth + 1 ||
          Array.from(el.querySelectorAll('span')).some(s => s.getBoundingClientRect().right > box.right + 0.5);
      }).map(el => el.textContent.trim())""", selector)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "360"])
def test_hallucination_verdicts_fit_their_boxes_in_english(open_page, make_campaign, make_contributor, viewport):
    campaign = make_campaign("hallucination", overlap=1, config={"trusted_sources": []},
                             items=[{"payload": {"prompt": "Hỏi", "response": "Đáp một. Đáp hai."}}])
    page = open_page(make_contributor(), reverse("label-campaign", args=[campaign.pk]), viewport=viewport,
                     language="en")
    page.locator(".claim .verdicts .choice").first.wait_for()
    assert clipped_choices(page, ".claim .verdicts .choice") == []


@pytest.mark.parametrize("language", ["en", "vi"])
def test_admin_campaign_list_fits_a_laptop(open_page, org, make_campaign, language):
    for task_type in ("moderation", "speech_transcription", "hallucination"):
        campaign = make_campaign(task_type, items=[])
        campaign.name = f"Chiến dịch {task_type} có một cái tên khá dài để thử"
        campaign.save(update_fields=["name"])
    page = open_page(make_member(org), reverse("admin:tasks_campaign_changelist"), viewport=LAPTOP,
                     language=language)
    results = page.locator("#changelist .results")
    widths = results.evaluate("el => [el.scrollWidth, el.clientWidth]")
    columns = page.evaluate("""() => Array.from(document.querySelectorAll('#result_list thead th'))
        .map(th => `${th.className}: ${Math.round(th.getBoundingClientRect().width)}`)""")
    assert widths[0] <= widths[1] + 1, f"the campaign table is {widths[0]} px wide in a {widths[1]} px column: {columns}"
    link = page.locator("td.field-console_links a").last
    assert link.is_visible()
    box = link.bounding_box()
    assert box["x"] + box["width"] <= LAPTOP["width"]


def test_seven_point_rubric_scale_stays_on_one_row_on_a_phone(open_page, make_campaign, make_contributor):
    campaign = make_campaign("rlhf", overlap=1, config={"mode": "rubric", "scale_min": 1, "scale_max": 7},
                             items=[{"payload": {"prompt": "Chào", "responses": [{"text": "Một"}, {"text": "Hai"}]}}])
    page = open_page(make_contributor(), reverse("label-campaign", args=[campaign.pk]), viewport=PHONE,
                     language="vi")
    page.locator(".criterion .scale-point").first.wait_for()
    rows = page.evaluate("""() => Array.from(document.querySelectorAll('.criterion .scale')).map(scale =>
        new Set(Array.from(scale.children).map(p => Math.round(p.getBoundingClientRect().top))).size)""")
    assert rows and set(rows) == {1}, f"rows per scale: {rows}"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    for box in page.locator(".criterion .scale-point").evaluate_all(
            "ps => ps.map(p => p.getBoundingClientRect()).map(r => [r.width, r.height])"):
        assert box[0] >= 32 and box[1] >= 44, box  # still a comfortable thumb target


@pytest.mark.parametrize("language", ["vi", "en"])
def test_phone_header_and_action_bar_leave_most_of_the_screen_to_the_task(open_page, make_campaign,
                                                                          make_contributor, language):
    campaign = make_campaign(items=[{"payload": {"text": "Mua 1 tặng 1!!!"}}], overlap=1)
    page = open_page(make_contributor(), reverse("label-campaign", args=[campaign.pk]), viewport=PHONE,
                     language=language)
    expect(page.locator("[data-bind=text]")).not_to_have_text("")
    top = page.evaluate("document.querySelector('#task-area').getBoundingClientRect().top")
    bar = page.evaluate("document.querySelector('.actions').getBoundingClientRect().height")
    task_share = (PHONE["height"] - top - bar) / PHONE["height"]
    assert task_share >= 0.6, f"the task gets {task_share:.0%} of the screen (header {top:.0f} px, bar {bar:.0f} px)"


def test_nothing_scrolled_into_view_hides_under_the_sticky_bar(open_page, make_campaign, make_contributor):
    """Tabbing or scrolling to a control on a phone must leave it above the sticky action bar: the
    escalation checkbox of moderation, every verdict and scale of the other text types."""
    campaigns = [
        make_campaign(items=[{"payload": {"text": "Xin chào " * 60}}], overlap=1),
        make_campaign("hallucination", overlap=1, config={"trusted_sources": []},
                      items=[{"payload": {"prompt": "Hỏi", "response": "Đáp một. Đáp hai. Đáp ba. Đáp bốn."}}]),
    ]
    user = make_contributor()
    for campaign in campaigns:
        page = open_page(user, reverse("label-campaign", args=[campaign.pk]), viewport=PHONE, language="vi")
        page.locator("#task-area input").first.wait_for(state="attached")
        hidden = page.evaluate("""() => {
          const bar = document.querySelector('.actions');
          const out = [];
          for (const input of document.querySelectorAll('#task-area input, #task-area select, #task-area textarea')) {
            const target = input.closest('label') || input;
            if (!target.getClientRects().length) continue;
            window.scrollTo(0, 0);
            input.focus();  // the browser scrolls a focused control into view, as Tab does
            const r = target.getBoundingClientRect(), b = bar.getBoundingClientRect();
            if (r.bottom > b.top + 1) out.push(`${input.name || input.dataset.name || input.type}: ${r.bottom} > ${b.top}`);
          }
          return out;
        }""")
        assert hidden == [], hidden
