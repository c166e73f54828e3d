"""The content-moderation slice: import -> queue -> submit -> consensus -> API."""
import io
import json

import pytest
from django.urls import reverse

from annotations.models import Annotation, Consensus
from tasks.importing import import_items
from tasks.models import Assignment, Item
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db


def jsonl(*records) -> io.BytesIO:
    return io.BytesIO("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records).encode())


def test_import_jsonl_stores_items_nfc_normalised(make_campaign):
    campaign = make_campaign(items=[])
    decomposed = "Tie\u0302\u0301ng Vie\u0323\u0302t"  # NFD input
    report = import_items(
        campaign=campaign,
        stream=jsonl({"payload": {"text": decomposed}}, {"text": "Xin chào"}, {"payload": {"text": "Spam"}, "gold_answer": {"categories": ["spam"]}}),
        fmt="jsonl",
    )
    assert report.ok, report.as_dict()
    assert report.imported == 3
    texts = sorted(Item.objects.filter(campaign=campaign).values_list("payload__text", flat=True))
    assert "Tiếng Việt" in texts
    assert Item.objects.get(campaign=campaign, is_gold=True).gold_answer == {"categories": ["spam"]}


@pytest.mark.parametrize(
    "bad_line, field",
    [
        ('{"payload": {"text": ', ""),  # malformed JSON
        ('{"payload": {"context": "no text"}}', "payload.text"),  # missing field
        ('{"payload": {"text": "x"}, "gold_answer": {"categories": ["not-a-label"]}}', "gold_answer.categories[0]"),
        ("[1, 2]", ""),
    ],
)
def test_import_bad_line_names_line_and_imports_nothing(make_campaign, bad_line, field):
    campaign = make_campaign(items=[])
    report = import_items(campaign=campaign, stream=jsonl({"text": "một"}, {"text": "hai"}, bad_line, {"text": "bốn"}), fmt="jsonl")
    assert not report.ok
    assert report.imported == 0
    assert [(e.line, e.field) for e in report.errors] == [(3, field)]
    assert not Item.objects.filter(campaign=campaign).exists()


def test_import_csv(make_campaign):
    campaign = make_campaign(items=[])
    data = io.BytesIO('text,external_id,gold_answer\n"Chào bạn",a1,\n"Mua ngay",a2,"{""categories"": [""spam""]}"\n'.encode())
    report = import_items(campaign=campaign, stream=data, fmt="csv")
    assert report.ok, report.as_dict()
    assert list(Item.objects.filter(campaign=campaign).order_by("external_id").values_list("external_id", "is_gold")) == [
        ("a1", False), ("a2", True)]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_full_slice_through_http(client, make_campaign, make_contributor, token_client, celery_worker_process):
    campaign = make_campaign(items=[{"payload": {"text": "Mua 1 tặng 1!!!"}}], overlap=3)
    users = [make_contributor() for _ in range(3)]
    labels = ["spam", "spam", "safe"]
    for user, label in zip(users, labels, strict=True):
        client.force_login(user)
        res = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json")
        assert res.status_code == 200, res.content
        assignment = res.json()["assignment"]
        assert assignment["item"]["payload"]["text"] == "Mua 1 tặng 1!!!"
        assert "is_gold" not in json.dumps(assignment)
        res = client.post(
            reverse("assignment-submit", args=[assignment["id"]]),
            {"payload": {"categories": [label]}, "time_spent_ms": 4000, "telemetry": {"keystrokes": 0}},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"key-{user.pk}",
        )
        assert res.status_code == 201, res.content
    # Scored by the Celery worker (in process when no broker is configured).
    consensus = wait_for(lambda: Consensus.objects.filter(item__campaign=campaign).first(), timeout=60)
    assert consensus.result["categories"] == ["spam"]
    assert consensus.confidence == pytest.approx(2 / 3)
    assert consensus.agreement == pytest.approx(1 / 3)
    api = token_client()
    res = api.get(reverse("annotation-list", args=[campaign.pk]))
    assert res.status_code == 200
    assert sorted(a["payload"]["categories"][0] for a in res.json()["results"]) == ["safe", "spam", "spam"]
    res = api.get(reverse("consensus-list", args=[campaign.pk]))
    assert res.json()["results"][0]["result"]["categories"] == ["spam"]


def test_queue_respects_overlap_and_never_repeats(client, make_campaign, make_contributor):
    campaign = make_campaign(items=[{"payload": {"text": "một"}}, {"payload": {"text": "hai"}}], overlap=2)
    seen = {}
    for _ in range(3):
        user = make_contributor()
        client.force_login(user)
        for _ in range(3):
            res = client.post(reverse("task-next", args=[campaign.pk]))
            body = res.json()
            if body["assignment"] is None:
                assert body["code"] == "empty"
                break
            a = body["assignment"]
            seen.setdefault(user.pk, []).append(a["item"]["id"])
            client.post(reverse("assignment-submit", args=[a["id"]]), {"payload": {"categories": ["safe"]}}, content_type="application/json")
    for items in seen.values():
        assert len(items) == len(set(items))
    assert all(i.done_count == 2 and i.open_slots == 0 for i in Item.objects.filter(campaign=campaign))
    assert Annotation.objects.filter(campaign=campaign).count() == 4


def test_submit_is_idempotent_and_validated(client, make_campaign, make_contributor):
    campaign = make_campaign(items=[{"payload": {"text": "một"}}])
    user = make_contributor()
    client.force_login(user)
    a = client.post(reverse("task-next", args=[campaign.pk])).json()["assignment"]
    url = reverse("assignment-submit", args=[a["id"]])
    bad = client.post(url, {"payload": {"categories": ["nope"]}}, content_type="application/json")
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "categories[0]"
    missing = client.post(url, {"payload": {}}, content_type="application/json")
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "categories"
    first = client.post(url, {"payload": {"categories": ["safe"]}}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post(url, {"payload": {"categories": ["safe"]}}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["annotation_id"] == again.json()["annotation_id"] and again.json()["replayed"]
    no_key = client.post(url, {"payload": {"categories": ["safe"]}}, content_type="application/json")
    assert no_key.status_code == 409 and no_key.json()["error"]["code"] == "already_submitted"
    assert Annotation.objects.count() == 1


def test_submit_to_someone_elses_assignment_is_404(client, make_campaign, make_contributor):
    campaign = make_campaign()
    owner, intruder = make_contributor(), make_contributor()
    client.force_login(owner)
    a = client.post(reverse("task-next", args=[campaign.pk])).json()["assignment"]
    client.force_login(intruder)
    res = client.post(reverse("assignment-submit", args=[a["id"]]), {"payload": {"categories": ["safe"]}}, content_type="application/json")
    assert res.status_code == 404
    assert Assignment.objects.get(pk=a["id"]).state == Assignment.State.LEASED


def test_api_without_valid_token_gets_no_data(client, make_campaign, other_org, token_client):
    campaign = make_campaign()
    url = reverse("annotation-list", args=[campaign.pk])
    assert client.get(url).status_code in (401, 403)
    assert client.get(url, HTTP_AUTHORIZATION="Token nope.nope").status_code == 401
    assert client.get(url, HTTP_AUTHORIZATION="Token " + "x" * 5000).status_code == 401
    # Another organisation's token: the campaign does not exist for it.
    assert token_client(other_org).get(url).status_code == 404


def test_readyz_reports_database_and_broker(client):
    res = client.get("/readyz")
    assert res.status_code == 200
    assert res.json()["checks"]["database"] == "ok"
    assert res.json()["checks"]["broker"].startswith("ok")


def test_demo_loader_creates_every_task_type(db):
    from tasks.types import all_task_types
    from web.demo import load_demo

    result = load_demo()
    assert {c.task_type for c in result["campaigns"]} == {t.key for t in all_task_types()}
    assert len(result["contributors"]) == 3
    again = load_demo()
    assert again["campaigns"] == []  # idempotent


def test_label_pages_render(client, make_campaign, make_contributor):
    campaign = make_campaign()
    client.force_login(make_contributor())
    home = client.get(reverse("label-home"))
    assert home.status_code == 200 and campaign.name in home.content.decode()
    page = client.get(reverse("label-campaign", args=[campaign.pk]))
    assert page.status_code == 200
    assert 'id="labeler-config"' in page.content.decode()
