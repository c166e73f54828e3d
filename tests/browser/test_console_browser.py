"""A manager's pass through the console in Debian's chromium: create, import (bad line, then fixed),
activate, preview as contributor, and watch the dashboard update as contributors submit."""
import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tasks.models import Campaign, Item
from tests.test_admin_console import make_member
from workqueue.lease import lease_next_item
from workqueue.submit import submit_annotation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BAD = '{"text": "Chào buổi sáng"}\n{"context": "thiếu text"}\n{"text": "Mua 1 tặng 1!!!"}\n'


def test_manager_console_pass(page, live_server, browser_login, org, make_contributor, artifacts_dir,
                              celery_worker_process):
    manager = make_member(org)
    browser_login(page, manager.email)
    base = live_server.url

    # Create a campaign with the moderation form.
    page.goto(f"{base}{reverse('admin:tasks_campaign_add')}?task_type=sft")
    page.select_option("select[name=task_type]", "moderation")  # the form reloads with that type's fields
    page.wait_for_url(lambda url: "task_type=moderation" in url)
    page.fill("input[name=name]", "Kiểm duyệt thử nghiệm")
    assert "safe" in page.input_value("textarea[name=cfg__categories]")
    page.fill("input[name=gold_rate]", "0")
    page.fill("input[name=overlap]", "1")
    page.click("input[name=_save]")
    page.wait_for_url(lambda url: "/add/" not in url)
    campaign = Campaign.objects.get(name="Kiểm duyệt thử nghiệm")
    assert campaign.status == "draft" and campaign.organization == org

    # Import a file with one bad line: the report names it, nothing is stored.
    page.goto(f"{base}{reverse('admin:tasks_campaign_import', args=[campaign.pk])}")
    page.set_input_files("#import-file", files=[{"name": "items.jsonl", "mimeType": "application/json",
                                                 "buffer": BAD.encode()}])
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-status[data-status=failed]", timeout=30000)
    page.wait_for_selector("#import-errors tbody tr")
    assert page.locator("#import-errors tbody tr td").first.text_content() == "2"
    report = page.request.get(base + page.get_attribute("#import-report-link", "href"))
    assert "payload.text" in report.text()
    page.screenshot(path=str(artifacts_dir / "console-import-report.png"))
    assert not Item.objects.filter(campaign=campaign).exists()

    # Fix the line and import again.
    page.goto(f"{base}{reverse('admin:tasks_campaign_import', args=[campaign.pk])}")
    page.set_input_files("#import-file", files=[{"name": "items.jsonl", "mimeType": "application/json",
                                                 "buffer": BAD.replace('"context"', '"text"').encode()}])
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-status[data-status=succeeded]", timeout=30000)
    assert page.text_content("#import-imported") == "3"

    # Activate from the campaign page.
    page.goto(f"{base}{reverse('admin:tasks_campaign_change', args=[campaign.pk])}")
    page.click("button[data-transition=active]")
    page.wait_for_selector(".console-status-active")
    campaign.refresh_from_db()
    assert campaign.status == "active"

    # Preview as a contributor: the real labelling page, nothing leased.
    page.click("#console-preview")
    page.wait_for_function("document.querySelector('[data-bind=text]') && "
                           "document.querySelector('[data-bind=text]').textContent.length > 0")
    assert page.is_visible("#preview-banner")
    page.screenshot(path=str(artifacts_dir / "console-preview.png"))
    assert not campaign.assignments.exists()

    # The dashboard updates as contributors submit.
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{base}{reverse('review:dashboard', args=[campaign.pk])}")
    assert page.text_content("#kpi-answers") == "0"
    assert page.evaluate("typeof window.Chart") == "function"
    for region in ("north", "central", "south"):
        user = make_contributor(region=region)
        assignment = lease_next_item(user=user, campaign=campaign)
        submit_annotation(user=user, assignment_id=assignment.pk, payload={"categories": ["safe"]})
    page.wait_for_function("document.getElementById('kpi-answers').textContent === '3'", timeout=25000)
    assert page.locator("#table-regions tbody tr").count() == 3
    regions = page.text_content("#table-regions tbody")  # names, not keys, after the 10-second refresh
    assert "Miền Bắc" in regions and "north" not in regions  # the browser context reads Vietnamese
    assert "T" not in page.text_content("#dash-updated") and "." not in page.text_content("#kpi-spent")
    page.screenshot(path=str(artifacts_dir / "console-dashboard-phone.png"), full_page=True)

    # The same page with the site's Content-Security-Policy enforced (the test context bypasses it for
    # its probes): no violation, and the vendored Chart.js draws every chart.
    strict = page.context.browser.new_context(bypass_csp=False)
    strict.add_cookies(page.context.cookies())
    csp_page = strict.new_page()
    violations = []
    csp_page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    csp_page.goto(f"{base}{reverse('review:dashboard', args=[campaign.pk])}")
    csp_page.wait_for_load_state("networkidle")
    drawn = csp_page.evaluate("() => ['chart-completion', 'chart-throughput', 'chart-states', 'chart-regions']"
                              ".map((id) => !!(window.Chart && window.Chart.getChart(id)))")
    assert drawn == [True, True, True, True] and violations == []
    strict.close()


def test_review_with_keyboard(page, live_server, browser_login, org, make_campaign, make_contributor, artifacts_dir):
    from annotations.models import Consensus
    from review.models import ReviewDecision
    from tests.test_admin_console import answer

    manager = make_member(org)
    campaign = make_campaign(organization=org, items=[{"payload": {"text": "<b>Mua</b> ngay"}}])
    item = campaign.items.get()
    answers = [answer(campaign, item, make_contributor(), {"categories": [c]}) for c in ("spam", "safe", "spam")]
    Consensus.objects.create(item=item, campaign=campaign, state="disputed", result={"categories": ["spam"]},
                             confidence=0.6, n_answers=3)
    browser_login(page, manager.email)
    page.goto(f"{live_server.url}{reverse('review:queue')}")
    page.click(f"tr[data-item='{item.pk}'] a")
    # the item is drawn read-only by the type's own page in a frame: the markup escaped, shown as text
    expect(page.frame_locator("#item-payload iframe").locator("#task-area")).to_contain_text("<b>Mua</b>")
    page.wait_for_selector("#answers .console-answer.console-current")  # the shortcuts script is ready
    page.keyboard.press("j")
    page.wait_for_selector(f"[data-annotation='{answers[1].pk}'].console-current")
    page.keyboard.press("r")
    page.keyboard.type("Sai nhãn: đây là quảng cáo")
    page.keyboard.press("Escape")
    page.locator(f"[data-annotation='{answers[1].pk}'] button[value=reject]").click()
    page.wait_for_selector(f"[data-annotation='{answers[1].pk}'] .console-decision[data-decision=reject]")
    page.wait_for_selector(f"[data-annotation='{answers[0].pk}'].console-current")
    page.keyboard.press("a")  # the first answer has the focus again after the reload
    page.wait_for_selector(f"[data-annotation='{answers[0].pk}'] .console-decision[data-decision=accept]")
    page.screenshot(path=str(artifacts_dir / "console-review.png"), full_page=True)
    decisions = dict(ReviewDecision.objects.filter(is_current=True).values_list("annotation_id", "decision"))
    assert decisions == {answers[1].pk: "reject", answers[0].pk: "accept"}
    assert ReviewDecision.objects.get(annotation=answers[1]).reason == "Sai nhãn: đây là quảng cáo"
