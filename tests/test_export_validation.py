"""Export requests that must be refused (400 naming the field, 409, 404) and scope checks: no worker needed."""
import pytest

from exports.models import Export

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("body, field", [
    ({"layout": "dpo"}, "layout"),
    ({"layout": "nope"}, "layout"),
    ({"format": "xlsx"}, "format"),
    ({"min_agreement": 1.5}, "min_agreement"),
    ({"min_agreement": "abc"}, "min_agreement"),
    ({"since": "yesterday"}, "since"),
    ({"since": "2025-13-45"}, "since"),
    ({"split": {"train": 0.5, "test": 0.2}}, "split"),
    ({"split": {"train": 2}}, "split.train"),
    ({"split": {"train": 1, "by": "speaker"}}, "split.by"),
    ({"split": {"train": 1, "seed": "x"}}, "split.seed"),
    ({"split": {"holdout": 1}}, "split.holdout"),
    ({"license": "cc by <script>"}, "filters.license"),
])
def test_bad_export_requests_are_400_naming_the_field(token_client, make_campaign, body, field):
    campaign = make_campaign()
    res = token_client().post(f"/api/v1/campaigns/{campaign.pk}/exports/", body, format="json")
    assert res.status_code == 400, res.content
    assert res.json()["error"]["field"] == field
    assert not Export.objects.exists()


def test_download_of_running_export_is_409_and_other_org_is_404(token_client, make_campaign, other_org):
    campaign = make_campaign()
    export = Export.objects.create(organization=campaign.organization, campaign=campaign, status="running")
    client = token_client()
    res = client.get(f"/api/v1/exports/{export.pk}/download/")
    assert res.status_code == 409 and res.json()["error"]["code"] == "not_ready"
    stranger = token_client(other_org)
    for url in (f"/api/v1/exports/{export.pk}/", f"/api/v1/exports/{export.pk}/download/",
                f"/api/v1/campaigns/{campaign.pk}/exports/"):
        assert stranger.get(url).status_code == 404
    assert stranger.post(f"/api/v1/campaigns/{campaign.pk}/exports/", {}, format="json").status_code == 404
    assert stranger.get("/api/v1/exports/").json()["results"] == []


def test_export_needs_read_scope(token_client, make_campaign):
    campaign = make_campaign()
    client = token_client(scopes=["campaigns:manage"])
    res = client.post(f"/api/v1/campaigns/{campaign.pk}/exports/", {}, format="json")
    assert res.status_code == 403 and "datasets:read" in res.json()["error"]["message"]


def test_layouts_endpoint_lists_the_type_layouts(token_client, make_campaign):
    campaign = make_campaign()
    names = [x["name"] for x in token_client().get(f"/api/v1/campaigns/{campaign.pk}/export-layouts/").json()["layouts"]]
    assert names == ["raw", "moderation"]


def test_admin_lists_only_the_managers_organisation(client, django_user_model, make_campaign, other_org):
    from organizations.models import Membership

    mine = make_campaign()
    theirs = make_campaign(organization=other_org)
    e1 = Export.objects.create(organization=mine.organization, campaign=mine, status="succeeded")
    e2 = Export.objects.create(organization=other_org, campaign=theirs, status="succeeded")
    manager = django_user_model.objects.create_user("pm@lab.example", "pm@lab.example", "pw-123456789",
                                                    is_staff=True)
    Membership.objects.create(organization=mine.organization, user=manager, role=Membership.Role.ADMIN)
    from review.roles import sync_role_groups, sync_user_roles

    sync_role_groups()
    sync_user_roles(manager)
    client.force_login(django_user_model.objects.create_superuser("root@x.example", "root@x.example", "pw-1234567"))
    for url in ("/admin/exports/export/", "/admin/exports/webhook/", "/admin/exports/webhookdelivery/"):
        assert client.get(url).status_code == 200
    page = client.get("/admin/exports/export/").content.decode()
    assert f"/admin/exports/export/{e1.pk}/" in page and f"/admin/exports/export/{e2.pk}/" in page
    client.force_login(manager)
    page = client.get("/admin/exports/export/")
    assert page.status_code == 200
    assert f"/admin/exports/export/{e1.pk}/" in page.content.decode()
    assert f"/admin/exports/export/{e2.pk}/" not in page.content.decode()
    assert client.get(f"/admin/exports/export/{e2.pk}/change/").status_code == 404
