"""One browser pass of a contributor's start: sign up, confirm the e-mail, complete the profile,
fail then pass a qualification test, and see the campaign unlock on the dashboard (phone width)."""
import re
import uuid

import pytest
from django.core import mail
from django.urls import reverse

from contributors import services
from contributors.models import ContributorProfile, Qualification, QualificationAttempt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOLD = {
    "Chúc mọi người một ngày tốt lành! <b>không phải HTML</b>": ("safe", "1"),
    "Nhắn tin cho tôi để nhận quà 5 triệu, chỉ cần gửi mã OTP.": ("spam", "4"),
}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 360, "height": 740}, "locale": "en-GB"}


def answer_all(page, *, correct: bool, count: int):
    for n in range(count):
        page.wait_for_function(
            "n => document.getElementById('q-progress').textContent.includes(String(n))", arg=n + 1
        )
        text = page.locator("[data-bind=text]").text_content()
        assert text in GOLD  # rendered as text: the <b> markup shows literally
        key = GOLD[text][1] if correct else "5"  # 5 = violence, never right here
        page.keyboard.press(key)
        page.keyboard.press("Control+Enter")


def test_signup_verify_profile_fail_then_pass_qualification_and_unlock(
    page, live_server, make_campaign, artifacts_dir, settings
):
    settings.ACCOUNT_RATE_LIMITS = {}  # allauth's limits live in the shared cache; tested elsewhere
    campaign = make_campaign(requires_qualification=True, pay_per_task="2000")
    services.create_qualification_test(
        task_type="moderation", title="Kiểm duyệt: bài kiểm tra", pass_mark=1.0, max_attempts=3, cooldown_minutes=0,
        items=[{"payload": {"text": t}, "gold_answer": {"categories": [c]}} for t, (c, _k) in GOLD.items()],
    )
    email = f"hoa-{uuid.uuid4().hex[:8]}@example.com"
    password = "trăng-rằm-tháng-8-2025"

    # 1. Sign up (in English; the page is usable at 360 px).
    page.goto(f"{live_server.url}{reverse('account_signup')}")
    page.wait_for_function("document.querySelector('input[name=device_fingerprint]').value.length > 10")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", password)
    page.fill("input[name=password2]", password)
    page.screenshot(path=str(artifacts_dir / "contributor-signup-360.png"), full_page=True)
    page.click("form[action*='signup'] button[type=submit]")
    page.locator("#verification-sent").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # 2. Confirm through the e-mail the locmem backend captured.
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [email]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    page.goto(link)
    page.click("#confirm-email")
    page.wait_for_url(f"**{reverse('contributor-profile')}")

    # 3. Complete the profile; a future birth year is refused first.
    page.fill("input[name=display_name]", "Võ Thị Hoa")
    page.fill("input[name=birth_year]", "2999")
    page.select_option("select[name=gender]", "undisclosed")
    page.select_option("select[name=region]", "south")
    page.select_option("select[name=province]", "Thành phố Cần Thơ")
    page.select_option("select[name=dialect]", "south")
    page.check("input[name=languages][value=vi]")
    page.select_option("select[name=device_type]", "phone")
    page.check("input[name=consent]")
    page.click("#profile-form button[type=submit]")
    assert page.locator(".field-error").first.text_content().strip() == "Birth year cannot be in the future."
    page.fill("input[name=birth_year]", "1999")
    page.check("input[name=consent]")
    page.click("#profile-form button[type=submit]")
    page.wait_for_url(f"**{reverse('contributor-dashboard')}")
    assert page.locator("#level").get_attribute("data-level") == "2"
    assert page.locator(f"[data-locked-campaign='{campaign.pk}']").count() == 1
    assert page.locator(f"#available a[data-campaign='{campaign.pk}']").count() == 0
    page.screenshot(path=str(artifacts_dir / "contributor-dashboard-locked-360.png"), full_page=True)

    # 4. Fail the qualification test, then pass it on the second attempt.
    page.click(f"[data-locked-campaign='{campaign.pk}'] a")
    page.click("#q-start")
    answer_all(page, correct=False, count=len(GOLD))
    page.locator("#q-result[data-state=failed]").wait_for()
    assert "0/2" in page.locator("#q-result").text_content()
    page.click("#q-start")
    answer_all(page, correct=True, count=len(GOLD))
    page.locator("#q-qualified").wait_for()
    profile = ContributorProfile.objects.get(user__email=email)
    assert list(QualificationAttempt.objects.filter(profile=profile).order_by("number").values_list("state", flat=True)) \
        == ["failed", "passed"]
    assert Qualification.objects.filter(profile=profile, task_type="moderation").exists()

    # 5. The dashboard unlocks the campaign, at level 3.
    page.click("#q-qualified a")
    page.wait_for_url(f"**{reverse('contributor-dashboard')}")
    assert page.locator("#level").get_attribute("data-level") == "3"
    page.locator(f"#available a[data-campaign='{campaign.pk}']").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(artifacts_dir / "contributor-dashboard-unlocked-360.png"), full_page=True)
    page.click(f"#available a[data-campaign='{campaign.pk}']")
    page.locator("[data-bind=text]").wait_for()
    page.wait_for_function("document.querySelector('[data-bind=text]').textContent.length > 0")
