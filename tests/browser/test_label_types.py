"""Each text task type labelled in Debian's chromium: mouse, keyboard shortcuts, reload, submit, next item.

Every page runs under the site's Content-Security-Policy; a console error (a CSP violation, a script
error) fails the test.
"""
import pytest
from django.urls import reverse

from annotations.models import Annotation
from tests.helpers import wait_for_celery_idle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def settle_worker():
    """Let a live worker finish scoring this test's answers before the tables are truncated."""
    yield
    wait_for_celery_idle()


@pytest.fixture
def open_labeler(page, live_server, browser_login, make_contributor):
    """Log a fresh contributor in, open the campaign's page, close the first-use instructions."""
    errors: list[str] = []

    def open_(campaign):
        page.set_default_timeout(20000)  # a loaded 2-core machine runs the worker and other tests too
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "favicon" not in m.text
                and "Failed to load resource" not in m.text else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        user = make_contributor()
        browser_login(page, user.email)
        page.goto(f"{live_server.url}{reverse('label-campaign', args=[campaign.pk])}")
        page.locator("#instructions").wait_for(state="visible")  # examples shown on first use
        page.keyboard.press("Escape")
        return user

    yield open_
    assert not errors, errors


def wait_item(page, selector: str, previous: str = "") -> str:
    page.wait_for_function(
        "([sel, prev]) => { const el = document.querySelector(sel); return el && el.textContent.length > 0"
        " && el.textContent !== prev; }",
        arg=[selector, previous],
    )
    return page.locator(selector).text_content()


def wait_done(page, n: int):
    try:
        page.wait_for_function(f"document.getElementById('done-count').textContent === '{n}'", timeout=20000)
    except Exception as exc:  # say what the page showed
        raise AssertionError(f"not submitted; page says: {page.locator('#form-error').text_content()!r}") from exc


def reload_and_expect_draft(page, selector: str):
    page.wait_for_timeout(100)  # let the change event's autosave land
    page.reload()
    page.wait_for_function("document.getElementById('form-error').textContent.length > 0")
    assert page.locator(selector).count() > 0


def test_rlhf_pairwise(page, open_labeler, make_campaign, artifacts_dir):
    items = [
        {"payload": {"prompt": f"Câu hỏi số {i}: <script>alert(1)</script>",
                     "responses": [{"text": f"Trả lời tốt {i}"}, {"text": f"Trả lời <b>kém</b> {i}"}]}}
        for i in range(2)
    ]
    campaign = make_campaign("rlhf", items=items, overlap=1, config={"mode": "pairwise", "rationale_min_length": 10})
    user = open_labeler(campaign)
    prompt = wait_item(page, "[data-bind=prompt]")
    assert "<script>" in prompt  # shown as text, never executed
    # Mouse: pick the good response wherever it was shown, then strength and a rationale.
    good_letter = "A" if "tốt" in page.locator(".response").nth(0).text_content() else "B"
    page.click(f"label.choice:has(input[value='{good_letter}'])")
    page.locator("[data-role=strength-box]").wait_for(state="visible")
    # Submitting without strength is stopped next to the field.
    page.click("#btn-submit")
    page.locator("[data-error-for=strength]").wait_for(state="visible")
    page.click(".scale-point:has(input[value='3'])")
    page.fill("textarea[name=rationale]", "Ngắn")
    page.click("#btn-submit")
    page.locator("[data-error-for=rationale]").wait_for(state="visible")
    page.fill("textarea[name=rationale]", "")
    page.click("textarea[name=rationale]")
    page.keyboard.type("Cau tra loi dung trong tam va lich su hon.")
    reload_and_expect_draft(page, f"input[value='{good_letter}']:checked")
    assert page.locator("input[name=strength][value='3']").is_checked()
    assert page.input_value("textarea[name=rationale]").startswith("Cau tra loi dung")
    page.screenshot(path=str(artifacts_dir / "label-rlhf-pairwise.png"), full_page=True)
    page.click("#btn-submit")
    wait_done(page, 1)
    # Keyboard: second item.
    wait_item(page, "[data-bind=prompt]", prompt)
    good_letter = "a" if "tốt" in page.locator(".response").nth(0).text_content() else "b"
    page.keyboard.press(good_letter)
    page.keyboard.press("2")
    page.keyboard.press("Control+Enter")
    wait_done(page, 2)
    page.locator("#no-work").wait_for(state="visible")
    answers = list(Annotation.objects.filter(campaign=campaign, contributor=user).order_by("id"))
    assert [a.payload.get("strength") for a in answers] == [3, 2]
    for a in answers:  # whatever order was shown, the stored answer points at the good response (index 0)
        shown = a.payload["order"][0 if a.payload["choice"] == "A" else 1]
        assert shown == 0
    assert answers[0].telemetry["active_ms"] > 0  # restored across the reload, not reset
    assert answers[0].telemetry["fields"]["rationale"]["keystrokes"] >= 40  # typed after the reload
    assert answers[0].telemetry["status"] == "ok", answers[0].telemetry


def test_rlhf_ranking_and_rubric(page, open_labeler, make_campaign, artifacts_dir):
    responses = [{"text": "Xôi lạc gói lá chuối."}, {"text": "Bánh mì trứng ốp la."}, {"text": "Bỏ bữa sáng."}]
    campaign = make_campaign("rlhf", items=[{"payload": {"prompt": f"Ăn sáng gì? ({i})", "responses": responses,
                                                         "conversation": [{"role": "user", "content": "Mình vội."}]}}
                                            for i in range(2)],
                             overlap=1, config={"mode": "ranking", "rationale": "off"})
    user = open_labeler(campaign)
    prompt = wait_item(page, "[data-bind=prompt]")
    assert page.locator("[data-role=conversation-box]").is_visible()
    # Mouse: tap "next best" on the cards in shown order C, A, B.
    cards = page.locator(".response")
    for pos in (2, 0):
        cards.nth(pos).locator("[data-action=pick]").click()
    page.click("#btn-submit")
    page.locator("[data-error-for=ranks]").wait_for(state="visible")
    cards.nth(1).locator("[data-action=pick]").click()
    assert [cards.nth(i).locator("select").input_value() for i in range(3)] == ["2", "3", "1"]
    reload_and_expect_draft(page, ".response.ranked")
    assert page.locator(".response").nth(2).locator("select").input_value() == "1"
    page.screenshot(path=str(artifacts_dir / "label-rlhf-ranking.png"), full_page=True)
    page.click("#btn-submit")
    wait_done(page, 1)
    wait_item(page, "[data-bind=prompt]", prompt)
    # Keyboard: 0 clears, then 2,3,1 give ranks 1,2,3 to shown B, C, A.
    page.keyboard.press("1")
    page.keyboard.press("0")
    for key in ("2", "3", "1"):
        page.keyboard.press(key)
    page.keyboard.press("Control+Enter")
    wait_done(page, 2)
    answers = [a.payload for a in Annotation.objects.filter(campaign=campaign, contributor=user).order_by("id")]
    assert answers[0]["ranks"] == [2, 3, 1] and answers[1]["ranks"] == [3, 1, 2]
    assert prompt.startswith("Ăn sáng gì?")

    # Rubric, keyboard only: digits fill the highlighted criterion and move on.
    rubric = make_campaign("rlhf", items=[{"payload": {"prompt": "Chào", "responses": responses[:2]}}], overlap=1,
                           config={"mode": "rubric", "rationale": "off"})
    page.goto(page.url.replace(f"/{campaign.pk}/", f"/{rubric.pk}/"))
    page.locator("#instructions").wait_for(state="visible")
    page.keyboard.press("Escape")
    wait_item(page, "[data-bind=prompt]")
    for key in "765":
        page.keyboard.press(key)
    page.keyboard.press("Control+Enter")
    page.locator("[data-error-for='ratings[1].helpfulness']").wait_for(state="visible")
    page.click(".criterion.current .scale-point:has(input[value='2'])")
    page.keyboard.press("3")
    page.keyboard.press("1")
    page.screenshot(path=str(artifacts_dir / "label-rlhf-rubric.png"), full_page=True)
    page.keyboard.press("Control+Enter")
    page.locator("#no-work").wait_for(state="visible")
    rated = Annotation.objects.get(campaign=rubric).payload["ratings"]
    assert rated == [{"helpfulness": 7, "harmlessness": 6, "honesty": 5}, {"helpfulness": 2, "harmlessness": 3, "honesty": 1}]


def test_hallucination_audit(page, open_labeler, make_campaign, artifacts_dir):
    items = [
        {"payload": {"prompt": "Ai viết Truyện Kiều?",
                     "response": "Truyện Kiều do Nguyễn Du sáng tác. Nguyễn Du sinh năm 1820.",
                     "references": [{"title": "Bẫy", "url": "javascript:alert(1)", "text": "Không phải nguồn."},
                                    {"title": "Nguyễn Du", "url": "https://vi.wikipedia.org/wiki/Nguyễn_Du",
                                     "text": "Nguyễn Du (1766–1820) là nhà thơ lớn."}]}},
        {"payload": {"prompt": "Thủ đô?", "response": "Hà Nội là thủ đô của Việt Nam. Tôi nghĩ vậy."}},
    ]
    campaign = make_campaign("hallucination", items=items, overlap=1,
                             config={"trusted_sources": ["vi.wikipedia.org", "gov.vn"]})
    user = open_labeler(campaign)
    prompt = wait_item(page, "[data-bind=prompt]")
    assert page.locator(".claim").count() == 2
    assert page.locator(".reference a").first.get_attribute("href") is None  # a javascript: URL is never a link
    first, second = page.locator(".claim").nth(0), page.locator(".claim").nth(1)
    first.locator("label:has(input[value=supported])").click()
    first.locator("input[data-name=evidence_url]").fill("https://blog.example.com/kieu")
    first.locator("textarea[data-name=quote]").fill("Truyện Kiều của Nguyễn Du")
    second.locator("label:has(input[value=contradicted])").click()
    # Evidence from the reference: "use as source" fills the URL, Q quotes the selected passage.
    page.click("[data-role=references-box] summary")
    assert page.locator("[data-action=use-source]").first.is_hidden()  # not for an untrusted link
    page.locator("[data-action=use-source]").nth(1).click()
    page.evaluate("""() => { const p = document.querySelectorAll('.reference p')[1]; const r = document.createRange();
        r.setStart(p.firstChild, 0); r.setEnd(p.firstChild, 'Nguyễn Du (1766–1820)'.length);
        const s = window.getSelection(); s.removeAllRanges(); s.addRange(r); }""")
    page.keyboard.press("q")
    assert second.locator("textarea[data-name=quote]").input_value() == "Nguyễn Du (1766–1820)"
    page.select_option("select[name=overall]", "major_errors")
    page.select_option("select[name=severity]", "medium")
    page.click("#btn-submit")
    # An untrusted source is named next to the claim's URL field.
    err = page.locator("[data-error-for='claims[0].evidence_url']")
    err.wait_for(state="visible")
    first.locator("input[data-name=evidence_url]").fill("https://vi.wikipedia.org/wiki/Truyện_Kiều")
    page.click("#btn-submit")
    page.locator("[data-error-for='claims[1].correction']").wait_for(state="visible")
    second.locator("textarea[data-name=correction]").fill("Nguyễn Du sinh năm 1766.")
    reload_and_expect_draft(page, ".claim input[value=contradicted]:checked")
    assert page.locator(".claim").nth(1).locator("textarea[data-name=correction]").input_value() == "Nguyễn Du sinh năm 1766."
    page.screenshot(path=str(artifacts_dir / "label-hallucination.png"), full_page=True)
    page.click("#btn-submit")
    wait_done(page, 1)
    wait_item(page, "[data-bind=prompt]", prompt)
    # Keyboard: U on claim 1 (moves on), N on claim 2; selects by keyboard.
    page.keyboard.press("u")
    page.keyboard.press("n")
    page.focus("select[name=overall]")
    page.select_option("select[name=overall]", "unverifiable")
    page.select_option("select[name=severity]", "low")
    page.keyboard.press("Control+Enter")
    wait_done(page, 2)
    payloads = [a.payload for a in Annotation.objects.filter(campaign=campaign, contributor=user).order_by("id")]
    assert payloads[0]["claims"][1] == {"verdict": "contradicted", "evidence_url": "https://vi.wikipedia.org/wiki/Nguyễn_Du",
                                        "quote": "Nguyễn Du (1766–1820)", "correction": "Nguyễn Du sinh năm 1766."}
    assert [c["verdict"] for c in payloads[1]["claims"]] == ["unverifiable", "not_claim"]


@pytest.mark.parametrize("mode", ["write_response", "edit_draft"])
def test_sft(page, open_labeler, make_campaign, artifacts_dir, mode):
    items = [{"payload": {"instruction": f"Hướng dẫn pha cà phê sữa đá số {i}.",
                          "draft": "Cho ca phe vao ly roi them sua dac va da, khuay deu la uong duoc."}} for i in range(2)]
    campaign = make_campaign("sft", items=items, overlap=1, config={"mode": mode, "min_length": 30, "max_length": 400})
    user = open_labeler(campaign)
    instruction = wait_item(page, "[data-bind=instruction]")
    box = page.locator("textarea[name=response]")
    if mode == "edit_draft":
        assert box.input_value().startswith("Cho ca phe")
        page.click("#btn-submit")  # unchanged draft refused in the page
        page.locator("[data-error-for=response]").wait_for(state="visible")
        box.fill("")
    box.click()
    page.keyboard.type("Cho ca phe vao ly")  # typed: per-field keystrokes are recorded
    page.locator("[data-counter-for=response]").wait_for(state="visible")
    assert "17" in page.locator("[data-counter-for=response]").text_content()
    page.locator("[data-diacritics-for=response]").wait_for(state="visible")  # no diacritics: warned
    box.fill("The quick brown fox jumps over the lazy dog again and again.")
    page.click("#btn-submit")  # English in a Vietnamese campaign: refused by the server, shown at the field
    err = page.locator("[data-error-for=response]")
    err.wait_for(state="visible")
    assert err.text_content()
    box.fill("Cho cà phê phin vào ly, rót nước sôi, đợi nhỏ giọt hết rồi thêm sữa đặc và đá.")
    assert page.locator("[data-diacritics-for=response]").is_hidden()
    reload_and_expect_draft(page, "textarea[name=response]")
    assert page.input_value("textarea[name=response]").startswith("Cho cà phê phin")
    page.screenshot(path=str(artifacts_dir / f"label-sft-{mode}.png"), full_page=True)
    page.click("#btn-submit")
    wait_done(page, 1)
    wait_item(page, "[data-bind=instruction]", instruction)
    page.keyboard.press("e")  # shortcut: start writing
    if mode == "edit_draft":
        page.keyboard.press("Control+a")
    page.keyboard.type("Pha cà phê: phin, nước sôi, sữa đặc, đá viên và khuấy đều.", delay=35)  # human speed
    page.keyboard.press("Control+Enter")
    wait_done(page, 2)
    stored = list(Annotation.objects.filter(campaign=campaign, contributor=user).order_by("id"))
    assert stored[0].payload["has_diacritics"] is True
    assert stored[1].telemetry["fields"]["response"]["keystrokes"] >= 30
    assert stored[1].telemetry["status"] == "ok", stored[1].telemetry
    assert stored[1].telemetry["bursts"][0]["field"] == "response"
    assert sum(b["length"] for b in stored[1].telemetry["bursts"]) == stored[1].telemetry["fields"]["response"]["keystrokes"]
    if mode == "edit_draft":
        assert stored[0].payload["diff"] and 0 <= stored[0].payload["similarity"] < 1


def test_moderation_multi_label_with_severity(page, open_labeler, make_campaign, artifacts_dir):
    campaign = make_campaign(
        items=[{"payload": {"text": "Đồ ngu, tao đến tận nhà xử lý mày."}}, {"payload": {"text": "Chúc ngủ ngon."}}],
        overlap=1, config={"multi_label": True, "severity_levels": ["thấp", "trung bình", "cao"]},
    )
    user = open_labeler(campaign)
    text = wait_item(page, "[data-bind=text]")
    page.click("label.choice:has-text('Quấy rối')")
    page.click("label.choice:has-text('Bạo lực')")
    page.click("#btn-submit")
    page.locator("[data-error-for='severity.harassment']").wait_for(state="visible")
    page.locator(".category:has-text('Quấy rối') label.sev:has-text('trung bình')").click()
    page.locator(".category:has-text('Bạo lực') label.sev:has-text('cao')").click()
    page.check("input[name=needs_escalation]")
    page.fill("textarea[name=escalation_note]", "Đe dọa cụ thể")
    reload_and_expect_draft(page, "input[value=violence]:checked")
    page.screenshot(path=str(artifacts_dir / "label-moderation-multi.png"), full_page=True)
    page.click("#btn-submit")
    wait_done(page, 1)
    wait_item(page, "[data-bind=text]", text)
    page.keyboard.press("4")  # spam
    page.keyboard.press("Shift+Digit1")  # its severity
    page.keyboard.press("1")  # safe clears spam (exclusive)
    assert not page.locator("input[value=spam]").is_checked()
    page.keyboard.press("Control+Enter")
    wait_done(page, 2)
    payloads = [a.payload for a in Annotation.objects.filter(campaign=campaign, contributor=user).order_by("id")]
    assert payloads[0] == {"categories": ["harassment", "violence"], "severity": {"harassment": "trung bình", "violence": "cao"},
                           "needs_escalation": True, "escalation_note": "Đe dọa cụ thể"}
    assert payloads[1]["categories"] == ["safe"]
