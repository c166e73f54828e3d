"""One full browser pass of the moderation slice in Debian's chromium."""
import pytest
from django.urls import reverse

from annotations.models import Annotation
from tests.helpers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_label_three_items_and_see_consensus_over_api(
    page, live_server, browser_login, make_campaign, make_contributor, token_client, artifacts_dir,
    celery_worker_process,
):
    campaign = make_campaign(items=[{"payload": {"text": f"Bình luận <b>số</b> {i}"}} for i in range(3)], overlap=1)
    user = make_contributor()
    browser_login(page, user.email)
    page.goto(f"{live_server.url}{reverse('label-home')}")
    page.click(f"a[data-campaign='{campaign.pk}']")
    page.locator("#instructions").wait_for(state="visible")
    page.keyboard.press("Escape")
    previous = ""
    for i in range(3):
        text = page.locator("[data-bind=text]")
        page.wait_for_function(
            "prev => { const t = document.querySelector('[data-bind=text]').textContent;"
            " return t.length > 0 && t !== prev; }",
            arg=previous,
        )
        previous = text.text_content()
        assert "<b>" in text.text_content()  # escaped, shown as text
        if i == 0:
            page.click("label.choice:has-text('Spam')")
        else:
            page.keyboard.press("2" if i == 1 else "1")  # shortcuts
        page.keyboard.press("Control+Enter")
        try:
            page.wait_for_function(f"document.getElementById('done-count').textContent === '{i + 1}'", timeout=10000)
        except Exception:
            page.screenshot(path=str(artifacts_dir / f"moderation-fail-{i}.png"))
            raise
    page.locator("#no-work").wait_for(state="visible")
    page.screenshot(path=str(artifacts_dir / "moderation-done.png"))
    assert Annotation.objects.filter(campaign=campaign).count() == 3
    api = token_client()
    results = wait_for(
        lambda: len(r := api.get(reverse("consensus-list", args=[campaign.pk])).json()["results"]) == 3 and r,
        timeout=60,
    )
    assert all(r["state"] == "finalised" for r in results)
