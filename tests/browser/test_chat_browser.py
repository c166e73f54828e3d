"""Conversation and arena in Debian's chromium: rate and write turns of a 6-turn chat, judge model pairs
blind, and read the leaderboard with its intervals. Pages run under the site's CSP; a console error fails."""
import pytest
from django.urls import reverse

from annotations.models import Annotation
from task_types.conversation.demo import TRIP
from tasks.models import Item
from tests.helpers import wait_for_celery_idle
from tests.test_admin_console import make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def settle_worker():
    yield
    wait_for_celery_idle()


@pytest.fixture
def errors(page):
    seen: list[str] = []
    page.set_default_timeout(20000)
    page.on("console", lambda m: seen.append(m.text) if m.type == "error" and "favicon" not in m.text
            and "Failed to load resource" not in m.text else None)
    page.on("pageerror", lambda e: seen.append(str(e)))
    yield seen
    assert not seen, seen


def open_campaign(page, live_server, campaign):
    page.goto(f"{live_server.url}{reverse('label-campaign', args=[campaign.pk])}")
    page.locator("#instructions").wait_for(state="visible")
    page.keyboard.press("Escape")


def wait_done(page, n: int):
    try:
        page.wait_for_function(f"document.getElementById('done-count').textContent === '{n}'")
    except Exception as exc:  # say what the page showed
        raise AssertionError(f"answer {n} not submitted; page says: {page.locator('#form-error').text_content()!r}, "
                             f"done: {page.locator('#done-count').text_content()!r}") from exc


def test_rate_and_write_turns_of_a_six_turn_conversation(page, errors, live_server, browser_login, make_campaign,
                                                         make_contributor, artifacts_dir):
    rate = make_campaign("conversation", overlap=1, config={"mode": "rate"},
                         items=[{"payload": {"tree_id": "dalat", "messages": TRIP}}])
    write = make_campaign("conversation", overlap=1, config={"mode": "write", "max_turns": 8},
                          items=[{"payload": {"tree_id": "dalat", "messages": TRIP[:5]}}])
    user = make_contributor()
    browser_login(page, user.email)
    open_campaign(page, live_server, rate)
    page.locator(".thread .msg").nth(5).wait_for()
    assert page.locator(".thread .msg").count() == 6 and page.locator(".turn-rating").count() == 3
    # Submitting with a turn unrated is stopped; keys rate the next unrated turn; a tap sets a flag.
    page.keyboard.press("5")
    page.click("#btn-submit")
    page.locator("[data-error-for=turns]").wait_for(state="visible")
    page.keyboard.press("4")
    page.keyboard.press("2")
    page.click(".turn-rating[data-turn='5'] label:has(input[value='hallucinated'])")
    page.screenshot(path=str(artifacts_dir / "conversation-rate.png"), full_page=True)
    page.click("#btn-submit")
    wait_done(page, 1)
    [rating] = Annotation.objects.filter(campaign=rate)
    assert rating.payload["turns"] == [{"turn": 1, "score": 5, "flags": []}, {"turn": 3, "score": 4, "flags": []},
                                       {"turn": 5, "score": 2, "flags": ["hallucinated"]}]
    # Writing: the last turn is the user's, so the page asks for the assistant's reply.
    open_campaign(page, live_server, write)
    page.locator("[data-role=write-label]").wait_for()
    assert page.locator(".thread .msg").count() == 5
    page.click("#btn-submit")
    page.locator("[data-error-for=text]").wait_for(state="visible")
    page.click("textarea[name=text]")
    reply = "Bạn nên thử bánh căn và lẩu gà lá é; sữa đậu nành nóng ở chợ đêm cũng rất ngon."
    page.keyboard.type(reply)
    page.click("#btn-submit")
    wait_done(page, 1)
    [written] = Annotation.objects.filter(campaign=write)
    assert written.payload["role"] == "assistant" and written.payload["text"] == reply
    # The branch grew: a new item with six turns, the user speaks next (never served to its author).
    child = Item.objects.get(campaign=write, external_id=f"turn-{written.pk}")
    assert len(child.payload["messages"]) == 6 and child.source_contributor_id == user.pk
    page.locator("#no-work").wait_for(state="visible")


def test_judge_model_pairs_and_see_the_leaderboard(page, errors, live_server, browser_login, org, make_campaign,
                                                   make_contributor, artifacts_dir):
    from task_types.arena.demo import PROMPTS

    items = [{"payload": {"prompt": p, "category": c, "responses": [{"model": m, "text": t} for m, t in r.items()]}}
             for c, p, r in PROMPTS[:3]]
    campaign = make_campaign("arena", items=items, overlap=1, config={"mode": "pairwise", "bootstrap_rounds": 40})
    user = make_contributor()
    browser_login(page, user.email)
    open_campaign(page, live_server, campaign)
    prompt = ""
    for n in range(1, 4):
        page.wait_for_function("prev => { const el = document.querySelector('.arena [data-bind=prompt]');"
                               " return el && el.textContent.length > 0 && el.textContent !== prev; }", arg=prompt)
        prompt = page.locator(".arena [data-bind=prompt]").text_content()
        assert page.locator(".arena .response").count() == 2
        html = page.content()
        assert not any(model in html for model in ("sen-13b", "mai-7b", "lua-3b"))  # blind
        if n == 1:
            page.click("label.choice:has(input[value='B'])")
            page.click("#btn-submit")
        else:
            page.keyboard.press("a")
            page.keyboard.press("Control+Enter")
        wait_done(page, n)
    assert Annotation.objects.filter(campaign=campaign).count() == 3
    manager = make_member(org)
    page.context.clear_cookies()
    browser_login(page, manager.email)
    page.goto(f"{live_server.url}{reverse('review:leaderboard', args=[campaign.pk])}")
    overall = page.locator("section.leaderboard").first
    overall.locator("svg.lb-chart circle.dot").first.wait_for()  # (a horizontal line has no height: "hidden")
    assert overall.locator("svg.lb-chart line.ci").count() == overall.locator("tbody tr").count()
    rows = overall.locator("tbody tr")
    assert rows.count() >= 2
    for k in range(rows.count()):
        low, rating, high = (float(rows.nth(k).get_attribute(f"data-{a}")) for a in ("low", "rating", "high"))
        assert low <= rating <= high and low < high  # a real interval around the rating
    assert overall.locator("[data-check=position]").count() == 1
    page.screenshot(path=str(artifacts_dir / "arena-leaderboard.png"), full_page=True)
