"""Issue 20 in Debian's chromium: a contributor reads their history on a 360 px phone in Vietnamese (a readable
answer, the reviewer's reason, a missed gold question with the expected answer), contests the rejection, a
manager answers it in the admin queue, and the contributor reads the answer. Screenshots go to test-artifacts/."""
import random

import pytest
from playwright.sync_api import expect

from review.models import Dispute
from review.services import decide_review
from tests.browser.conftest import PHONE, no_horizontal_scroll
from tests.test_contributor_history import work

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_history_contest_and_staff_answer_on_a_phone(browser, phone, live_server, browser_login, make_campaign,
                                                     make_contributor, org, artifacts_dir):
    from organizations.models import Membership
    from review.roles import sync_role_groups

    sync_role_groups()
    manager = make_contributor("pm@lab-a.example")
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    Membership.objects.create(organization=org, user=manager, role=Membership.Role.MANAGER)
    user = make_contributor()
    campaign = make_campaign(items=[{"payload": {"text": f"Bình luận {i}"}} for i in range(2)], overlap=1)
    rejected = work(user, campaign, {"categories": ["spam"]})
    decide_review(annotation=rejected, reviewer=manager, decision="reject", reason="Bình luận này không phải spam")
    gold = make_campaign(items=[{"payload": {"text": "Câu kiểm tra"}, "gold_answer": {"categories": ["hate"]}}],
                         overlap=1, gold_rate=1.0)
    missed = work(user, gold)
    random.seed(0)

    page = phone
    page.set_default_timeout(30000)  # a loaded 2-core machine runs other tests and the worker too
    browser_login(page, user.email)
    page.goto(f"{live_server.url}/me/history/")
    expect(page.locator("h1")).to_have_text("Lịch sử của tôi")
    entry = page.locator(f"[data-answer='{rejected.pk}']")
    expect(entry.locator(".answer-summary")).to_contain_text("Spam / lừa đảo")
    expect(entry.locator(".decision-reason")).to_contain_text("Bình luận này không phải spam")
    expect(page.locator(f"[data-answer='{missed.pk}'] .expected-summary")).to_contain_text("Thù ghét")
    assert "{&quot;" not in page.content() and '{"categories"' not in page.inner_text("main")
    assert no_horizontal_scroll(page), "the history scrolls sideways at 360 px"
    page.screenshot(path=str(artifacts_dir / "history-phone.png"), full_page=True)

    entry.locator("summary").tap()
    page.fill(f"#contest-{rejected.pk}", "Tôi chọn đúng: bình luận này là quảng cáo lừa đảo.")
    entry.locator("button[type=submit]").tap()
    expect(page.locator(f"[data-answer='{rejected.pk}'] .contest-outcome")).to_have_attribute("data-state", "open")
    dispute = Dispute.objects.get(annotation=rejected)

    # the manager answers in the admin's contest queue (a desktop window)
    staff_context = browser.new_context(viewport={"width": 1366, "height": 800}, locale="en-GB")
    staff = staff_context.new_page()
    staff.set_default_timeout(30000)
    browser_login(staff, manager.email)
    staff.goto(f"{live_server.url}/review/")
    staff.click("#open-contests a")
    staff.click(f"#result_list a[href*='/admin/review/dispute/{dispute.pk}/change/']")
    staff.check("input[name=outcome][value=uphold]")
    staff.fill("textarea[name=staff_answer]", "Quyết định giữ nguyên: bình luận không quảng cáo gì.")
    staff.click("input[name=_save]")
    staff.wait_for_url("**/admin/review/dispute/**")
    staff.screenshot(path=str(artifacts_dir / "history-staff-queue.png"), full_page=True)
    staff_context.close()

    page.reload()
    outcome = page.locator(f"[data-answer='{rejected.pk}'] .contest-outcome")
    expect(outcome).to_have_attribute("data-state", "upheld")
    expect(outcome.locator(".dispute-answer")).to_have_text("Quyết định giữ nguyên: bình luận không quảng cáo gì.")
    assert no_horizontal_scroll(page)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(artifacts_dir / "history-phone-answered.png"), full_page=True)
