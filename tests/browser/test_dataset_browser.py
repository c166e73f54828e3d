"""The dataset view in Debian's chromium: a manager filters, searches without diacritics, ticks items with the
keyboard and sends them to review and to re-labelling, on a laptop and on a 360 px phone in Vietnamese."""
import pytest
from django.urls import reverse

from annotations.models import Consensus
from review.models import ReviewRequest
from tasks.models import Item
from tests.browser.conftest import no_horizontal_scroll
from tests.test_admin_console import make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXTS = ["Ông Nguyễn Văn An gửi bình luận", "Bà Trần Thị Bình nói chuyện", "Đà Nẵng mưa to", "Hôm nay trời đẹp"]


@pytest.fixture
def campaign(make_campaign):
    campaign = make_campaign(items=[{"payload": {"text": t}} for t in TEXTS], overlap=1, max_overlap=2)
    for item, state in zip(Item.objects.filter(campaign=campaign).order_by("id"),
                           ["finalised", "disputed", "disputed", "finalised"], strict=True):
        Consensus.objects.create(item=item, campaign=campaign, state=state, agreement=0.5, confidence=0.5,
                                 result={"categories": ["safe"]}, n_answers=1)
    return campaign


def rows(page) -> list[int]:
    return [int(x) for x in page.eval_on_selector_all("#dataset-items tr[data-item]",
                                                      "rs => rs.map(r => r.dataset.item)")]


def test_dataset_filters_search_and_selection(page, live_server, browser_login, org, campaign, artifacts_dir):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    items = list(Item.objects.filter(campaign=campaign).order_by("id"))
    browser_login(page, make_member(org).email)
    page.set_viewport_size({"width": 1366, "height": 800})
    page.goto(f"{live_server.url}{reverse('review:dataset', args=[campaign.pk])}")
    assert sorted(rows(page)) == [i.pk for i in items]

    # "/" jumps to the search; "nguyen" (no accents) finds "Nguyễn".
    page.keyboard.press("/")
    page.keyboard.type("nguyen")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "q=nguyen" in url)
    assert rows(page) == [items[0].pk]
    assert "Nguyễn Văn An" in page.text_content("#dataset-items")

    # Filter disputed; j / x tick the first row from the keyboard, then send it to review.
    page.goto(f"{live_server.url}{reverse('review:dataset', args=[campaign.pk])}")
    page.select_option("#dataset-filters select[name=state]", "disputed")
    page.click("#dataset-filters button[type=submit]")
    page.wait_for_url(lambda url: "state=disputed" in url)
    assert sorted(rows(page)) == [items[1].pk, items[2].pk]
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert page.is_checked(f"input[name=items][value='{rows(page)[0]}']")
    page.screenshot(path=str(artifacts_dir / "dataset-laptop.png"))
    page.click("button[value=review]")
    page.wait_for_selector(".messagelist .success")
    assert list(ReviewRequest.objects.values_list("item_id", flat=True)) == [rows(page)[0]]
    assert "state=disputed" in page.url  # the filters survive the action

    # "All matching" (both disputed items) to re-labelling: one more answer each.
    page.check("#select-all")
    page.click("button[value=relabel]")
    page.wait_for_selector(".messagelist .success")
    targets = dict(Item.objects.filter(campaign=campaign).values_list("id", "target_overlap"))
    assert [targets[i.pk] for i in items] == [1, 2, 2, 1]

    # On a phone, in Vietnamese: one card per item, nothing wider than the screen.
    page.set_viewport_size({"width": 360, "height": 740})
    page.context.add_cookies([{"name": "django_language", "value": "vi", "url": live_server.url}])
    page.goto(f"{live_server.url}{reverse('review:dataset', args=[campaign.pk])}?q=da+nang")
    assert rows(page) == [items[2].pk]
    assert "Tìm" in page.text_content("#dataset-filters")
    wide = page.evaluate("""Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right
        > window.innerWidth + 1).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 15)""")
    assert no_horizontal_scroll(page), wide
    page.screenshot(path=str(artifacts_dir / "dataset-phone-vi.png"), full_page=True)
    assert not errors, errors
