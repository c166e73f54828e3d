"""Issue 25 in Debian's chromium: a contributor's statement and payout request on a 360 px phone in Vietnamese,
and a manager's cost view in the admin. Screenshots go to test-artifacts/."""
import pytest
from playwright.sync_api import expect

from payments.checks import breaches
from payments.models import Payout, PayoutAccount
from tests.browser.conftest import no_horizontal_scroll
from tests.test_payments_pages import make_earned, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_statement_and_payout_request_on_a_phone_in_vietnamese(phone, live_server, browser_login, make_campaign,
                                                               make_contributor, artifacts_dir):
    page, earned = phone, make_earned(make_campaign, make_contributor)
    user = earned["user"]
    browser_login(page, user.email)
    page.goto(f"{live_server.url}/me/earnings/")
    expect(page.locator("h1")).to_have_text("Thu nhập của tôi")
    expect(page.locator("#balance-available")).to_have_text("200.000 ₫")
    assert page.locator(f"#entries .entry-answer:has-text('#{earned['answers'][0].pk}')").count() >= 1
    expect(page.locator("#rejected")).to_contain_text("Sai nhãn")
    assert no_horizontal_scroll(page), "the statement scrolls sideways at 360 px"
    page.screenshot(path=str(artifacts_dir / "payments-phone-statement.png"), full_page=True)

    # Contest the rejected answer from the statement: the contest is listed as waiting for staff.
    rejected = earned["answers"][2].pk
    page.tap(f"[data-answer='{rejected}'] summary")
    page.fill(f"#contest-{rejected}", "Câu này rõ ràng là an toàn, xin xem lại giúp tôi.")
    page.tap(f"[data-answer='{rejected}'] button[type=submit]")
    expect(page.locator("#disputes [data-state='open']")).to_contain_text("Đang chờ nhân viên")
    expect(page.locator(f"[data-answer='{rejected}']")).to_contain_text("Đã khiếu nại")
    assert no_horizontal_scroll(page), "the statement with a contest scrolls sideways at 360 px"

    # To the payout page: it says an account is needed; add one.
    page.tap("#payout-link")
    page.wait_for_url("**/me/earnings/payout/")
    assert page.locator("#need-account").is_visible()
    assert page.locator("#request-payout").bounding_box()["height"] >= 44
    page.fill("input[name=bank_bin]", "970436")
    page.fill("input[name=account_number]", "0011 0012 34567")
    page.fill("input[name=account_name]", "nguyen van a")
    page.tap("#save-account")
    page.locator("#destination").wait_for()
    assert PayoutAccount.objects.get(contributor=user).account_name == "NGUYEN VAN A"
    expect(page.locator("#destination")).not_to_contain_text("0011001234567")  # masked on the page

    # More than the balance is refused at the field, in Vietnamese; nothing is posted.
    page.fill("input[name=amount]", "900.000")
    page.tap("#request-payout")
    page.locator("#payout-request .field-error").first.wait_for()
    assert not Payout.objects.exists()
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts_dir / "payments-phone-payout-refused.png"), full_page=True)

    page.fill("input[name=amount]", "150.000")
    page.tap("#request-payout")
    page.wait_for_url("**/me/earnings/")
    payout = Payout.objects.get()
    assert payout.gross == 150_000 and payout.contributor_id == user.pk
    expect(page.locator(f"[data-payout='{payout.reference}']")).to_be_visible()
    expect(page.locator("#balance-available")).to_have_text("50.000 ₫")
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts_dir / "payments-phone-payout-requested.png"), full_page=True)
    assert breaches() == []


def test_manager_cost_view_in_the_admin(page, live_server, browser_login, make_campaign, make_contributor,
                                        artifacts_dir):
    earned = make_earned(make_campaign, make_contributor)
    staff = make_staff(earned, make_contributor)
    browser_login(page, staff["manager"].email)
    page.goto(f"{live_server.url}/admin/payments/earning/")
    row = page.locator(f"#cost-table tr[data-campaign='{earned['campaign'].pk}']")
    expect(row).to_contain_text(earned["campaign"].name)
    expect(row.locator(".per-answer")).to_have_text("110.000 ₫")  # pay 100,000 + the 10 % fee
    expect(page.locator("#cost-view h2").first).to_have_text("Chi phí theo chiến dịch")
    html = page.content()
    assert "0011001234567" not in html and "NGUYEN VAN A" not in html
    page.screenshot(path=str(artifacts_dir / "payments-manager-cost-view.png"), full_page=True)
    denied = page.request.get(f"{live_server.url}/admin/payments/payoutaccount/")
    assert denied.status == 403
