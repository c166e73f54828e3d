"""The writing-process record on the real labelling page (Debian's chromium): a Telex-style IME composition,
a paste and typed keys replay on the server to the exact submitted text; a script typing an LLM answer at a
steady 7 keys/s is flagged with its evidence; the reviewer's page shows the process summary and reasons."""
import random

import pytest
from django.urls import reverse

from annotations.models import Annotation
from authenticity import services
from tests.browser.test_label_types import open_labeler, settle_worker, wait_done, wait_item  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LLM_ANSWER = ("Pha cà phê sữa đá cần phin nhôm, cà phê xay vừa, nước sôi và sữa đặc. "
              "Đợi cà phê nhỏ giọt hết rồi khuấy đều với đá.")


def compose(cdp, steps: list[str]) -> None:
    """What a Vietnamese IME sends while Telex keys are turned into marked letters: compositions, one commit."""
    for text in steps[:-1]:
        cdp.send("Input.imeSetComposition", {"text": text, "selectionStart": len(text), "selectionEnd": len(text)})
    cdp.send("Input.insertText", {"text": steps[-1]})


def type_like_a_person(page, text: str, rng: random.Random) -> None:
    """Uneven gaps, longer before a word than inside it (what the process features look for)."""
    prev = " "
    for ch in text:
        base = rng.lognormvariate(4.6, 0.45)
        page.wait_for_timeout(int(base * (2.2 if not prev.isalnum() or not ch.isalnum() else 1.0)))
        page.keyboard.insert_text(ch) if not ch.isascii() else page.keyboard.type(ch)
        prev = ch


@pytest.fixture
def sft_campaign(make_campaign):
    items = [{"payload": {"instruction": f"Hướng dẫn pha cà phê sữa đá số {i}."}} for i in range(3)]
    return make_campaign("sft", items=items, overlap=1, config={"mode": "write_response", "min_length": 30,
                                                                "max_length": 600})


def test_edit_log_replays_composition_paste_and_typing(page, open_labeler, sft_campaign,  # noqa: F811
                                                        artifacts_dir, client, django_user_model, live_server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    user = open_labeler(sft_campaign)
    wait_item(page, "[data-bind=instruction]")
    box = page.locator("textarea[name=response]")
    box.click()
    cdp = page.context.new_cdp_session(page)
    # Telex on an IME: "Vieejt" shows as V, Vi, Vie, Viê, Viêj->Việ, then commits "Việt".
    compose(cdp, ["V", "Vi", "Vie", "Viê", "Việ", "Việt"])
    rng = random.Random(3)
    type_like_a_person(page, " Nam mình hay pha cà phê phin mỗi sáng, để nguội rồi cho đá vào ly lớn.", rng)
    page.evaluate("navigator.clipboard.writeText(' Sữa đặc cho vừa ngọt.')")
    page.keyboard.press("Control+V")
    page.keyboard.press("Backspace")
    page.keyboard.type("!")
    expected = box.input_value()
    assert expected.startswith("Việt Nam mình") and expected.endswith("ngọt!")
    page.click("#btn-submit")
    wait_done(page, 1)
    annotation = Annotation.objects.get(campaign=sft_campaign, contributor=user)
    log = annotation.telemetry["edit_log"]
    assert log["status"] == "ok", log
    kinds = {op[4] for op in log["fields"]["response"]}
    assert {"c", "t", "p", "x"} <= kinds, kinds
    record = services.score_annotation(annotation.pk)
    process = record.components["process"]
    assert process["status"] == "replayed", process  # the log rebuilds exactly the stored text
    field = process["fields"]["response"]
    assert field["composed_chars"] == len("Việt") and len(field["paste_blocks"]) == 1
    assert "steady_timing" not in record.reasons and "timing_unrelated_to_words" not in record.reasons
    assert not record.flagged, (record.score, record.reasons, process["summary"])

    # A script "types" an LLM answer at a steady 7 keys/s: the log replays, the rhythm gives it away.
    page.evaluate("localStorage.clear(); sessionStorage.clear()")
    page.context.clear_cookies()
    bot = open_labeler(sft_campaign)
    wait_item(page, "[data-bind=instruction]")
    page.locator("textarea[name=response]").click()
    page.keyboard.type(LLM_ANSWER, delay=143)
    page.click("#btn-submit")
    wait_done(page, 1)
    scripted = services.score_annotation(Annotation.objects.get(campaign=sft_campaign, contributor=bot).pk)
    assert scripted.components["process"]["status"] == "replayed"
    assert scripted.flagged and "steady_timing" in scripted.reasons, scripted.components["process"]["summary"]

    # The reviewer sees the evidence, not just a verdict.
    manager = django_user_model.objects.create_superuser("rev@example.com", "rev@example.com", "pw-123456789")
    client.force_login(manager)
    html = client.get(reverse("review:item", args=[scripted.annotation.item_id]), HTTP_ACCEPT_LANGUAGE="en")
    assert html.status_code == 200
    body = html.content.decode()
    assert "steady_timing" in body and "gap variation" in body

    # ...and can watch the person's writing replayed (10x) to the text they submitted.
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    page.goto(f"{live_server.url}{reverse('review:item', args=[annotation.item_id])}")
    assert "Writing process" in page.locator(".authorship-process").first.text_content()
    box = page.locator(f".authorship-replay[data-replay='replay-log-{annotation.pk}']")
    box.locator("[data-role=replay-speed]").select_option("10")
    box.locator("[data-role=replay-play]").click()
    page.wait_for_function(f"document.querySelector(\".authorship-replay[data-replay='replay-log-{annotation.pk}']\")"
                           ".dataset.state === 'done'", timeout=60000)
    assert box.locator("[data-role=replay-text]").text_content() == expected
    page.screenshot(path=str(artifacts_dir / "review-authorship-replay.png"), full_page=True)
