"""Organisation API: campaigns CRUD, items, annotations/consensus filters and cursors, ETag, throttling,
tokens, error bodies, scoping, OpenAPI schema."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from annotations.models import Annotation
from organizations.models import ApiToken, Membership
from tasks.models import Campaign
from tests.api_data import answer_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(make_campaign, make_contributor):
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(6)], overlap=2)
    people = [make_contributor(region="north"), make_contributor(region="south")]
    # Items 0-3 agree (finalised); items 4-5 split (low agreement, more answers requested).
    answer_items(campaign, people, lambda i, c: {"categories": ["spam" if (i >= 4 and c) else "safe"]})
    return campaign


def test_campaign_crud_and_lifecycle(token_client):
    client = token_client()
    res = client.post("/api/v1/campaigns/", {"name": "Kiểm duyệt", "task_type": "moderation", "overlap": 3,
                                             "max_overlap": 4}, format="json")
    assert res.status_code == 201, res.json()
    campaign = res.json()
    assert campaign["status"] == "draft" and campaign["config"]["categories"]
    url = f"/api/v1/campaigns/{campaign['id']}/"
    # No items yet: activation is refused with the reason, on the status field.
    res = client.patch(url, {"status": "active"}, format="json")
    assert res.status_code == 400 and res.json()["error"]["field"] == "status"
    assert client.patch(url, {"overlap": 9}, format="json").json()["error"]["field"] == "max_overlap"
    assert client.patch(url, {"gold_rate": 2}, format="json").json()["error"]["field"] == "gold_rate"
    res = client.patch(url, {"name": "Kiểm duyệt 2", "priority": 5}, format="json")
    assert res.status_code == 200 and res.json()["name"] == "Kiểm duyệt 2" and res.json()["priority"] == 5
    assert client.get(url).json()["progress"] == {"items": 0, "annotations": 0, "target_annotations": 0,
                                                  "items_complete": 0}
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_campaign_create_bad_input_names_field(token_client):
    client = token_client()
    cases = [
        ({"name": "x", "task_type": "nope"}, "task_type"),
        ({"task_type": "moderation"}, "name"),
        ({"name": "x", "task_type": "moderation", "config": {"categories": [{"key": "Bad Key!", "label": "x"},
                                                                    {"key": "ok", "label": "y"}]}},
         "categories[0].key"),
        ({"name": "x", "task_type": "moderation", "region_quotas": {"north": 10}}, "region_quotas"),
    ]
    for body, field in cases:
        res = client.post("/api/v1/campaigns/", body, format="json")
        assert res.status_code == 400, (body, res.content)
        assert res.json()["error"]["field"] == field, res.json()
    assert client.post("/api/v1/campaigns/", "not json", content_type="application/json").status_code == 400
    assert not Campaign.objects.exists()


def test_scopes_and_other_organisation(token_client, make_campaign, other_org):
    campaign = make_campaign()
    reader = token_client(scopes=["datasets:read"])
    assert reader.get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 200
    res = reader.patch(f"/api/v1/campaigns/{campaign.pk}/", {"name": "x"}, format="json")
    assert res.status_code == 403 and res.json()["error"]["code"] == "permission_denied"
    stranger = token_client(other_org)
    for url in ("", "items/", "annotations/", "consensus/"):
        assert stranger.get(f"/api/v1/campaigns/{campaign.pk}/{url}").status_code == 404
    assert stranger.patch(f"/api/v1/campaigns/{campaign.pk}/", {"name": "x"}, format="json").status_code == 404
    assert stranger.delete(f"/api/v1/campaigns/{campaign.pk}/").status_code == 404
    assert stranger.get("/api/v1/campaigns/").json()["results"] == []
    assert APIClient().get("/api/v1/campaigns/").status_code in (401, 403)
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token abc.def")
    res = bad.get("/api/v1/campaigns/")
    assert res.status_code == 401 and res.json()["error"]["message"] == "Invalid token."


def test_revoked_and_expired_tokens_are_refused(org, make_campaign):
    from organizations.services import create_api_token, revoke_api_token

    token, key = create_api_token(organization=org, name="t", scopes=["datasets:read"],
                                  expires_at=timezone.now() - timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/campaigns/").status_code == 401
    token, key = create_api_token(organization=org, name="t2", scopes=["datasets:read"])
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/campaigns/").status_code == 200
    revoke_api_token(token=token)
    assert client.get("/api/v1/campaigns/").status_code == 401


def test_items_list_and_filters(token_client, answered):
    client = token_client()
    url = f"/api/v1/campaigns/{answered.pk}/items/"
    rows = client.get(url).json()["results"]
    assert len(rows) == 6 and rows[0]["payload"] == {"text": "Câu 0"}
    states = {r["consensus_state"] for r in rows}
    assert "finalised" in states
    finalised = client.get(url, {"state": "finalised"}).json()["results"]
    assert len(finalised) == 4
    assert client.get(url, {"is_gold": "true"}).json()["results"] == []
    assert client.get(url, {"state": "bogus"}).json()["error"]["field"] == "state"
    assert client.get(url, {"is_gold": "maybe"}).json()["error"]["field"] == "is_gold"
    assert client.get(url, {"created_since": "tomorrow"}).json()["error"]["field"] == "created_since"


def test_annotations_filters_and_cursor_pagination(token_client, answered):
    client = token_client()
    url = f"/api/v1/campaigns/{answered.pk}/annotations/"
    seen, page = [], client.get(url, {"page_size": 5}).json()
    while True:
        seen += [r["id"] for r in page["results"]]
        if not page["next"]:
            break
        page = client.get(page["next"]).json()
    assert seen == sorted(Annotation.objects.filter(campaign=answered).values_list("id", flat=True))
    assert len(seen) == 12
    high = client.get(url, {"min_agreement": 0.9}).json()["results"]
    assert len(high) == 8 and {r["consensus_state"] for r in high} == {"finalised"}
    assert len(client.get(url, {"state": "finalised"}).json()["results"]) == 8
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert client.get(url, {"updated_since": future}).json()["results"] == []
    assert len(client.get(url, {"updated_since": "2020-01-01"}).json()["results"]) == 12
    row = high[0]
    assert row["contributor"].startswith("c_") and row["region"] in ("north", "south")
    for params, field in [({"min_agreement": "2"}, "min_agreement"), ({"min_agreement": "x"}, "min_agreement"),
                          ({"updated_since": "nope"}, "updated_since"), ({"state": "x"}, "state"),
                          ({"cursor": "garbage"}, "")]:
        res = client.get(url, params)
        assert res.status_code in (400, 404), (params, res.status_code)
        assert "error" in res.json()
        if field:
            assert res.json()["error"]["field"] == field


def test_consensus_filters(token_client, answered):
    client = token_client()
    url = f"/api/v1/campaigns/{answered.pk}/consensus/"
    rows = client.get(url).json()["results"]
    assert [r["item"] for r in rows] == sorted(r["item"] for r in rows) and len(rows) == 6
    assert len(client.get(url, {"state": "finalised"}).json()["results"]) == 4
    assert all(r["agreement"] >= 0.9 for r in client.get(url, {"min_agreement": "0.9"}).json()["results"])


def test_etag_and_last_modified_give_304(token_client, answered):
    client = token_client()
    url = f"/api/v1/campaigns/{answered.pk}/annotations/"
    first = client.get(url)
    etag, modified = first["ETag"], first["Last-Modified"]
    assert etag and modified
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    Annotation.objects.filter(pk=first.json()["results"][0]["id"]).update(payload={"categories": ["hate"]})
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_throttling_per_token(token_client, make_campaign, settings):
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"api_token": "3/min"}}
    make_campaign()
    a, b = token_client(), token_client()
    assert [a.get("/api/v1/campaigns/").status_code for _ in range(3)] == [200, 200, 200]
    limited = a.get("/api/v1/campaigns/")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "throttled"
    assert int(limited["Retry-After"]) > 0
    assert b.get("/api/v1/campaigns/").status_code == 200  # another token has its own budget


def test_token_management_by_org_admin(org, other_org, django_user_model):
    from organizations.services import create_api_token

    admin = django_user_model.objects.create_user("boss@lab.example", "boss@lab.example", "pw-123456789")
    Membership.objects.create(organization=org, user=admin, role=Membership.Role.ADMIN)
    manager = django_user_model.objects.create_user("pm@lab.example", "pm@lab.example", "pw-123456789")
    Membership.objects.create(organization=org, user=manager, role=Membership.Role.MANAGER)
    client = APIClient()
    client.force_login(admin)
    res = client.post("/api/v1/tokens/", {"name": "pipeline", "scopes": ["datasets:read"]}, format="json")
    assert res.status_code == 201
    key = res.json()["key"]
    token = ApiToken.objects.get(pk=res.json()["id"])
    assert token.organization == org and key.split(".")[1] not in token.key_hash
    listing = client.get("/api/v1/tokens/").json()["results"]
    assert [t["prefix"] for t in listing] == [token.prefix] and "key" not in listing[0]
    # The new key works, and only for reading.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/campaigns/").status_code == 200
    assert api.post("/api/v1/campaigns/", {}, format="json").status_code == 403
    # A token cannot manage tokens; a manager (not admin) cannot either.
    assert api.get("/api/v1/tokens/").status_code == 403
    other = APIClient()
    other.force_login(manager)
    assert other.post("/api/v1/tokens/", {"name": "x", "scopes": ["datasets:read"]}, format="json").status_code == 403
    bad = client.post("/api/v1/tokens/", {"name": "x", "scopes": ["admin:all"]}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "scopes"
    past = client.post("/api/v1/tokens/", {"name": "x", "scopes": ["datasets:read"],
                                           "expires_at": "2001-01-01T00:00:00Z"}, format="json")
    assert past.status_code == 400 and past.json()["error"]["field"] == "expires_at"
    # Revocation takes effect at once; another organisation's token is 404.
    foreign, _ = create_api_token(
        organization=other_org, name="theirs", scopes=["datasets:read"])
    assert client.delete(f"/api/v1/tokens/{foreign.pk}/").status_code == 404
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert api.get("/api/v1/campaigns/").status_code == 401


def test_schema_documents_every_endpoint_with_examples(client):
    import json

    res = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert res.status_code == 200
    paths = json.loads(res.content)["paths"]
    mine = [p for p in paths if any(p.startswith(f"/api/v1/{prefix}") for prefix in (
        "exports/", "webhooks/", "tokens/", "imports/", "versions/")) or p in (
        "/api/v1/campaigns/", "/api/v1/campaigns/{campaign_id}/", "/api/v1/campaigns/{campaign_id}/items/",
        "/api/v1/campaigns/{campaign_id}/imports/", "/api/v1/campaigns/{campaign_id}/exports/",
        "/api/v1/campaigns/{campaign_id}/export-layouts/", "/api/v1/campaigns/{campaign_id}/annotations/",
        "/api/v1/campaigns/{campaign_id}/consensus/")]
    assert len(mine) == 22, sorted(mine)
    for path in mine:
        for method, operation in paths[path].items():
            if method not in ("get", "post", "patch", "delete", "put") or (method == "delete"):
                continue
            assert operation.get("summary"), (path, method)
            if path.endswith("/download/"):
                continue  # a zip: its error responses carry the examples
            assert '"examples"' in json.dumps(operation), (path, method)
    assert '"examples"' in json.dumps(paths["/api/v1/exports/{export_id}/download/"])
    assert client.get("/api/docs/").status_code == 200
