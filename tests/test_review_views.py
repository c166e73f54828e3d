"""The review item page draws items and answers with each task type's own page module, never as JSON."""
import json
import re
import unicodedata

import pytest
from django.urls import reverse

from organizations.models import Membership
from review.templatetags.console import readable, tojson
from tests.review_samples import answer_demo_items
from tests.test_admin_console import answer, make_member

pytestmark = pytest.mark.django_db


def visible_text(html: str) -> str:
    """The page as a reader sees it: scripts (page data) and templates left out, tags stripped."""
    html = re.sub(r"<(script|template|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def panel_config(client, item, annotation_id: int) -> dict:
    page = client.get(reverse("review:panel", args=[item.pk, annotation_id]))
    assert page.status_code == 200
    found = re.search(r'<script id="readonly-config" type="application/json">(.*?)</script>', page.content.decode(), re.S)
    return json.loads(found.group(1))


@pytest.fixture
def manager(org):
    return make_member(org)


def rlhf_item(make_campaign, mode: str, n: int):
    campaign = make_campaign("rlhf", config={"mode": mode}, items=[{"payload": {
        "prompt": "Câu hỏi", "responses": [{"text": f"Trả lời số {i}"} for i in range(n)]}}])
    return campaign, campaign.items.get()


def test_rlhf_pairwise_answer_shown_in_original_order(client, manager, make_campaign, make_contributor):
    campaign, item = rlhf_item(make_campaign, "pairwise", 2)
    # Shown B first: the contributor chose "A" on screen, which is the ORIGINAL second response.
    stored = campaign.task.validate_annotation({"choice": "A", "strength": 2}, config=campaign.config,
                                               item_payload=item.payload, view={"order": [1, 0]})
    a = answer(campaign, item, make_contributor(), stored)
    client.force_login(manager)
    page = client.get(reverse("review:item", args=[item.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert '"order"' not in visible_text(html) and '"choice"' not in visible_text(html)
    assert reverse("review:panel", args=[item.pk, a.pk]) in html
    cfg = panel_config(client, item, a.pk)
    assert cfg["answer"] == {"choice": "B", "strength": 2}  # original response 1 chosen, no shown order left
    assert cfg["item"]["responses"][1]["text"] == "Trả lời số 1"


def test_rlhf_ranks_and_ratings_per_original_response(client, manager, make_campaign, make_contributor):
    campaign, item = rlhf_item(make_campaign, "ranking", 3)
    stored = campaign.task.validate_annotation({"ranks": [1, 2, 3]}, config=campaign.config,
                                               item_payload=item.payload, view={"order": [2, 0, 1]})
    a = answer(campaign, item, make_contributor(), stored)
    client.force_login(manager)
    assert panel_config(client, item, a.pk)["answer"]["ranks"] == [2, 3, 1]  # response 2 was shown first, ranked 1
    rubric, ritem = rlhf_item(make_campaign, "rubric", 2)
    crit = [c["key"] for c in rubric.config["criteria"]]
    stored = rubric.task.validate_annotation({"ratings": [{k: 7 for k in crit}, {k: 1 for k in crit}]},
                                             config=rubric.config, item_payload=ritem.payload, view={"order": [1, 0]})
    b = answer(rubric, ritem, make_contributor(), stored)
    ratings = panel_config(client, ritem, b.pk)["answer"]["ratings"]
    assert ratings[1] == {k: 7 for k in crit} and ratings[0] == {k: 1 for k in crit}


def test_every_demo_type_reviews_without_json(client, make_contributor):
    from web.demo import load_demo

    demo = load_demo()
    answered = answer_demo_items(demo["contributors"])
    client.force_login(demo["manager"])
    types_with_answers = set()
    for campaign, item, answers in answered:
        page = client.get(reverse("review:item", args=[item.pk]))
        assert page.status_code == 200, campaign.task_type
        html = page.content.decode()
        text = visible_text(html)
        assert '{"' not in text and '": ' not in text, (campaign.task_type, text[:500])
        assert 'class="console-json"' not in html.split('id="answers"')[0]  # item and consensus: no JSON box
        assert reverse("review:panel", args=[item.pk, 0]) in html
        item_cfg = panel_config(client, item, 0)
        assert item_cfg["taskType"] == campaign.task_type and item_cfg["item"] == item.payload
        panel = client.get(reverse("review:panel", args=[item.pk, 0])).content.decode()
        assert f'data-task-type="{campaign.task_type}"' in panel
        assert all(f'src="/static/{s}"' in panel or s.split("/")[-1] in panel for s in campaign.task.scripts)
        for a in answers:
            assert reverse("review:panel", args=[item.pk, a.pk]) in html
            cfg = panel_config(client, item, a.pk)
            assert cfg["answer"] == campaign.task.review_answer(a.payload, item_payload=item.payload,
                                                                config=campaign.config)
            types_with_answers.add(campaign.task_type)
    # A recording's duration comes from the server (a MediaRecorder WebM reads Infinity in the browser).
    recording = next(i for c, i, a in answered if c.task_type == "speech_recording" and a)
    html = client.get(reverse("review:item", args=[recording.pk])).content.decode()
    assert 'data-duration="1.500"' in html and "1.5 s" in html
    media = client.get(reverse("review:media", args=[recording.pk, recording.annotations.first().pk])).json()
    assert media["durations"]["audio"] == 1.5 and media["media"]["audio"]
    # ...and the validation votes it received in the validation campaign, beside it.
    votes = panel_config(client, recording, recording.annotations.order_by("id").first().pk)["extra"]["votes"]
    assert votes == {"matches": 2, "does_not_match": 1}
    assert {"rlhf", "hallucination", "sft", "ocr", "moderation", "speech_validation", "spans", "arena",
            "conversation", "speech_transcription", "image", "speech_recording"} <= types_with_answers


def test_review_frames_and_media_are_scoped(client, org, other_org, make_campaign, make_contributor):
    campaign = make_campaign(items=[{"payload": {"text": "Mua ngay"}}])
    item = campaign.items.get()
    a = answer(campaign, item, make_contributor(), {"categories": ["spam"]})
    outsider = make_member(other_org, Membership.Role.MANAGER)
    client.force_login(outsider)
    assert client.get(reverse("review:panel", args=[item.pk, a.pk])).status_code == 404
    assert client.get(reverse("review:media", args=[item.pk, a.pk])).status_code == 404
    client.force_login(make_member(org))
    page = client.get(reverse("review:panel", args=[item.pk, a.pk]))
    assert page["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in page["Content-Security-Policy"]
    assert client.get(reverse("review:media", args=[item.pk, a.pk])).json()["media"] == {}
    other = make_campaign(items=[{"payload": {"text": "khác"}}])
    foreign = answer(other, other.items.get(), make_contributor(), {"categories": ["safe"]})
    assert client.get(reverse("review:panel", args=[item.pk, foreign.pk])).status_code == 404


def test_readable_values_are_nfc_and_braceless():
    decomposed = unicodedata.normalize("NFD", "Nguyễn")
    html = str(readable({"name": decomposed, "scores": [0.5, 1], "nested": {"ok": True}}))
    assert "Nguyễn" in html and decomposed not in html
    assert "{" not in html and "<dl" in html and "✓" in html
    assert "Nguyễn" in tojson({"n": decomposed})


def test_consensus_drawn_by_the_type_when_shaped_like_an_answer(client, manager, make_campaign, make_contributor):
    from annotations.models import Consensus

    campaign = make_campaign(items=[{"payload": {"text": "Mua ngay kẻo hết"}}])
    item = campaign.items.get()
    answer(campaign, item, make_contributor(), {"categories": ["spam"]})
    Consensus.objects.create(item=item, campaign=campaign, state=Consensus.State.DISPUTED, confidence=0.5,
                             result={"categories": ["spam"], "labels": {"category.spam": "yes"}, "votes": {"spam": 2}})
    client.force_login(manager)
    html = client.get(reverse("review:item", args=[item.pk])).content.decode()
    assert reverse("review:panel", args=[item.pk, 0]) + "?of=consensus" in html
    page = client.get(reverse("review:panel", args=[item.pk, 0]) + "?of=consensus").content.decode()
    cfg = json.loads(re.search(r'type="application/json">(.*?)</script>', page, re.S).group(1))
    assert cfg["answer"] == {"categories": ["spam"]} and cfg["frame"] == f"{item.pk}-consensus"

    rlhf, ritem = rlhf_item(make_campaign, "pairwise", 2)
    assert rlhf.task.review_consensus({"choice": 1, "scores": [0.1, 0.9]}, item_payload=ritem.payload,
                                      config=rlhf.config) == {"choice": "B"}
    ranking, kitem = rlhf_item(make_campaign, "ranking", 3)
    assert ranking.task.review_consensus({"ranking": [2, 0, 1]}, item_payload=kitem.payload,
                                         config=ranking.config) == {"ranks": [2, 3, 1]}
    # A result not shaped like an answer: the page lists its figures, no drawn view.
    Consensus.objects.filter(item=item).update(result={"votes": {"spam": 2}})
    html = client.get(reverse("review:item", args=[item.pk])).content.decode()
    assert "?of=consensus" not in html and "votes" in visible_text(html)
