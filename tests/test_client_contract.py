"""The Python client (client/) and the server stay in step, and the server-side parts it relies on work:
the OpenAPI schema still has every endpoint and response field the client reads; Idempotency-Key replays
a write; training layouts default to finalised items; the new events reach webhooks once."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def client_endpoints():
    spec = importlib.util.spec_from_file_location("vnannotate_endpoints",
                                                  ROOT / "client/src/vnannotate/endpoints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ENDPOINTS


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    for key in ("allOf", "oneOf", "anyOf"):
        if key in node:
            merged: dict = {"properties": {}}
            for part in node[key]:
                merged["properties"].update(_resolve(schema, part).get("properties", {}))
            return merged
    return node


def _fields_of(schema: dict, response: dict) -> set[str]:
    content = response.get("content", {})
    media = content.get("application/json") or next(iter(content.values()), {})
    body = _resolve(schema, media.get("schema", {}))
    if "results" in body.get("properties", {}):  # a cursor page: the row's fields
        body = _resolve(schema, body["properties"]["results"].get("items", {}))
    if body.get("type") == "array":
        body = _resolve(schema, body.get("items", {}))
    return set(body.get("properties", {}))


@pytest.fixture(scope="module")
def openapi():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_endpoint_the_client_uses_keeps_its_shape(openapi):
    problems = []
    for method, path, status, fields in client_endpoints():
        operation = openapi["paths"].get(path, {}).get(method)
        if operation is None:
            problems.append(f"{method.upper()} {path} is gone from the API")
            continue
        response = operation["responses"].get(status)
        if response is None:
            problems.append(f"{method.upper()} {path} no longer answers {status}")
            continue
        missing = set(fields) - _fields_of(openapi, response)
        if missing:
            problems.append(f"{method.upper()} {path} {status} lost {sorted(missing)}")
    assert not problems, problems


def test_the_contract_check_catches_a_removed_field(openapi):
    """Planted change: the export's sha256 disappears from the schema; the check must notice."""
    import copy

    changed = copy.deepcopy(openapi)
    changed["components"]["schemas"]["ExportOut"]["properties"].pop("sha256")
    method, path, status, fields = next(e for e in client_endpoints() if e[1] == "/api/v1/exports/{export_id}/")
    response = changed["paths"][path][method]["responses"][status]
    assert "sha256" in set(fields) - _fields_of(changed, response)


def test_idempotency_key_replays_the_first_answer(db, token_client):
    from tasks.models import Campaign

    client = token_client()
    body = {"name": "Idempotent", "task_type": "moderation"}
    first = client.post("/api/v1/campaigns/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/campaigns/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert Campaign.objects.filter(name="Idempotent").count() == 1
    other = client.post("/api/v1/campaigns/", {**body, "name": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 422 and other.json()["error"]["field"] == "Idempotency-Key"
    fresh = client.post("/api/v1/campaigns/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
    too_long = client.post("/api/v1/campaigns/", body, format="json", HTTP_IDEMPOTENCY_KEY="x" * 101)
    assert too_long.status_code == 400


def test_training_layouts_default_to_finalised_items_and_say_so(db, make_campaign):
    from exports.services import request_export

    campaign = make_campaign("rlhf", items=[{"payload": {"prompt": "Xin chào?", "responses": [{"text": "A"}, {"text": "B"}]}}])
    dpo = request_export(campaign=campaign, fmt="jsonl", layout="dpo")
    raw = request_export(campaign=campaign, fmt="jsonl", layout="raw")
    chosen = request_export(campaign=campaign, fmt="jsonl", layout="dpo", filters={"finalised_only": False})
    assert dpo.filters["finalised_only"] is True
    assert raw.filters["finalised_only"] is False
    assert chosen.filters["finalised_only"] is False


def test_events_reach_webhooks_once(db, org, make_campaign, django_capture_on_commit_callbacks, settings):
    from core import events
    from exports.events import items_finalised
    from exports.models import Webhook, WebhookDelivery
    from exports.webhooks import send_test_event

    settings.CELERY_TASK_ALWAYS_EAGER = False
    hook = Webhook.objects.create(organization=org, url="https://hooks.example.com/x")
    campaign = make_campaign(items=[{"payload": {"text": "một"}}, {"payload": {"text": "hai"}}])
    from annotations.models import Consensus

    item = campaign.items.order_by("id").first()
    Consensus.objects.create(item=item, campaign=campaign, state=Consensus.State.FINALISED, agreement=1.0)
    with django_capture_on_commit_callbacks(execute=False):
        items_finalised([item.pk])
        items_finalised([item.pk])  # a re-score finalising it again sends nothing new
        events.emit(events.BUDGET_EXHAUSTED, organization_id=org.pk, object_id=campaign.pk, data={})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        events.emit(events.BUDGET_EXHAUSTED, organization_id=org.pk, object_id=campaign.pk, data={})
    for callback in callbacks:
        if getattr(callback, "__name__", "") == "run":
            callback()
    sent = sorted(WebhookDelivery.objects.filter(webhook=hook).values_list("event", "key"))
    assert sent == [("budget.exhausted", ""), ("campaign.progress", "25"), ("campaign.progress", "50"),
                    ("item.finalised", "")]
    with django_capture_on_commit_callbacks(execute=False):
        send_test_event(hook)
        send_test_event(hook)  # the admin's button: a new delivery each press
    assert WebhookDelivery.objects.filter(webhook=hook, event="test").count() == 2


def test_admin_sends_a_test_event_and_lists_versions(db, org, make_campaign, django_capture_on_commit_callbacks):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from exports.models import DatasetVersion, Webhook, WebhookDelivery

    admin = get_user_model().objects.create_superuser("root@example.com", "root@example.com", "pw-123456789")
    browser = Client()
    browser.force_login(admin)
    hook = Webhook.objects.create(organization=org, url="https://hooks.example.com/x", events=["export.ready"])
    with django_capture_on_commit_callbacks(execute=False):
        res = browser.post("/admin/exports/webhook/", {"action": "send_test_event", "_selected_action": [hook.pk]})
    assert res.status_code == 302
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert delivery.event == "test" and delivery.payload["data"]["webhook"] == hook.pk
    campaign = make_campaign()
    DatasetVersion.objects.create(organization=org, campaign=campaign, number=3, layout="raw", format="jsonl",
                                  path="versions/x.zip", sha256="a" * 64)
    page = browser.get("/admin/exports/datasetversion/")
    assert page.status_code == 200 and "v3" in page.content.decode()


def test_authenticity_flags_raise_and_resolve_events(db, org, make_contributor, make_campaign,
                                                     django_capture_on_commit_callbacks, monkeypatch):
    from authenticity import services
    from exports import tasks
    from exports.models import Webhook, WebhookDelivery
    from tests.test_authenticity import LLM_VI, _answer, pasted
    from tests.test_authenticity import freetext_campaign as campaign_fixture

    queued = []
    monkeypatch.setattr(tasks.deliver_webhook, "delay", queued.append)  # the deliveries are stored, not sent
    campaign = campaign_fixture.__wrapped__(make_campaign)
    hook = Webhook.objects.create(organization=org, url="https://hooks.example.com/x",
                                  events=["authenticity.flag_raised", "authenticity.flag_resolved"])
    user = make_contributor()
    annotation = _answer(campaign, user, LLM_VI, pasted(LLM_VI))
    with django_capture_on_commit_callbacks(execute=True):
        score = services.score_annotation(annotation.pk)
    assert score.flagged
    with django_capture_on_commit_callbacks(execute=True):
        services.review_score(score=score, decision="human", reviewer=user)
    events = dict(WebhookDelivery.objects.filter(webhook=hook).values_list("event", "payload"))
    assert set(events) == {"authenticity.flag_raised", "authenticity.flag_resolved"}
    assert events["authenticity.flag_resolved"]["data"]["decision"] == "human" and len(queued) == 2
