"""The dataset view over HTTP: filters, search without diacritics, selection to review / re-labelling /
export changing real state, organisation scoping, and contributors shown by pseudonym only. Also the
dashboard's stored figures and authenticity panel (review.dashboard)."""
import json
import re
import zipfile

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils.translation import get_language

from annotations.models import Annotation, Consensus
from authenticity.models import AuthenticityScore
from core.vietnamese import search_key, searchable_text
from exports.models import Export
from exports.services import export_file_path, run_export
from organizations.models import Membership
from review.models import ReviewDecision, ReviewRequest
from review.services import decide_review
from tasks.models import Item
from tests.test_admin_console import make_member
from workqueue.lease import lease_next_item
from workqueue.submit import submit_annotation

pytestmark = pytest.mark.django_db

TEXTS = ["Ông Nguyễn Văn An gửi bình luận", "Bà Trần Thị Bình nói chuyện", "Đà Nẵng mưa to",
         "Hôm nay trời đẹp", "Người dùng spam liên tục"]


@pytest.fixture
def data(make_campaign, make_contributor, org):
    """Five items answered by a northern and a southern contributor; consensus states set per item."""
    campaign = make_campaign(items=[{"payload": {"text": t}} for t in TEXTS], overlap=2, max_overlap=3)
    north, south = make_contributor(region="north"), make_contributor(region="south")
    answers = {}
    for user in (north, south):
        for _ in TEXTS:
            assignment = lease_next_item(user=user, campaign=campaign)
            submit_annotation(user=user, assignment_id=assignment.pk, payload={"categories": ["safe"]})
            answers.setdefault(assignment.item_id, []).append(Annotation.objects.get(assignment=assignment))
    items = list(Item.objects.filter(campaign=campaign).order_by("id"))
    states = ["finalised", "disputed", "finalised", "needs_more", "disputed"]
    for item, state, agreement in zip(items, states, [1.0, 0.5, 0.9, 0.4, 0.2], strict=True):
        Consensus.objects.update_or_create(item=item, defaults={
            "campaign": campaign, "state": state, "agreement": agreement, "confidence": agreement,
            "result": {"categories": ["safe"]}, "n_answers": 2})
    flagged = answers[items[4].pk][0]
    AuthenticityScore.objects.create(annotation=flagged, campaign=campaign, contributor=flagged.contributor,
                                     score=0.1, flagged=True, reasons=["pasted", "near_duplicate"])
    return {"campaign": campaign, "items": items, "north": north, "south": south, "answers": answers}


def ids_on(response) -> list[int]:
    return [int(i) for i in re.findall(r'data-item="(\d+)"', response.content.decode())]


def api(client, campaign, **params):
    return client.get(reverse("campaign-dataset", args=[campaign.pk]), params)


def test_search_key_meets_accents_and_none():
    assert search_key("  NGUYỄN  Văn ĐỨC ") == "nguyen van duc"
    assert search_key("nguyen") in searchable_text({"name": "Nguyễn", "more": ["Đà Nẵng"]})
    assert searchable_text({"a": "x" * 10}, limit=5) == "xxxxx"


def test_filters_and_search_over_http(client, org, data):
    campaign, items = data["campaign"], data["items"]
    client.force_login(make_member(org))
    url = reverse("review:dataset", args=[campaign.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert sorted(ids_on(page)) == [i.pk for i in items]
    assert "Nguyễn Văn An" in page.content.decode()  # shown as written

    # Without diacritics, any case: "nguyen" finds "Nguyễn"; "da nang" finds "Đà Nẵng".
    assert ids_on(client.get(url, {"q": "nguyen"})) == [items[0].pk]
    assert ids_on(client.get(url, {"q": "DA NANG"})) == [items[2].pk]
    assert ids_on(client.get(url, {"q": "Nguyễn Văn"})) == [items[0].pk]
    assert ids_on(client.get(url, {"q": "không có"})) == []

    assert sorted(ids_on(client.get(url, {"state": "disputed"}))) == [items[1].pk, items[4].pk]
    assert sorted(ids_on(client.get(url, {"min_agreement": "0.5", "max_agreement": "0.95"}))) == [
        items[1].pk, items[2].pk]
    assert ids_on(client.get(url, {"max_confidence": "0.3"})) == [items[4].pk]
    assert ids_on(client.get(url, {"reason": "near_duplicate"})) == [items[4].pk]
    assert ids_on(client.get(url, {"reason": "steady_timing"})) == []
    assert sorted(ids_on(client.get(url, {"region": "south"}))) == [i.pk for i in items]
    assert ids_on(client.get(url, {"region": "central"})) == []
    assert ids_on(client.get(url, {"gold": "1"})) == []
    # Sort: agreement ascending.
    assert ids_on(client.get(url, {"sort": "agreement"})) == [items[4].pk, items[3].pk, items[1].pk, items[2].pk,
                                                             items[0].pk]
    # Each row links to the review item view.
    assert reverse("review:item", args=[items[0].pk]) in page.content.decode()

    # A bad value names the parameter; the page still renders (no 500).
    bad = client.get(url, {"min_agreement": "2"})
    assert bad.status_code == 200 and "min_agreement" in bad.content.decode()

    # The same filters over the REST API.
    res = api(client, campaign, q="tran thi", state="disputed")
    assert res.status_code == 200 and [r["id"] for r in res.json()["results"]] == [items[1].pk]
    res = api(client, campaign, sort="nonsense")
    assert res.status_code == 400 and "sort" in res.content.decode()


def test_another_organisation_never_appears(client, org, other_org, data, make_campaign):
    theirs = make_campaign(items=[{"payload": {"text": "Nguyễn bí mật"}}], organization=other_org)
    client.force_login(make_member(org))
    assert client.get(reverse("review:dataset", args=[theirs.pk])).status_code == 404
    assert api(client, theirs).status_code == 404
    # Items of another organisation can never be acted on through our campaign's form.
    their_item = theirs.items.get()
    res = client.post(reverse("review:dataset", args=[data["campaign"].pk]),
                      {"action": "review", "items": [their_item.pk]})
    assert res.status_code == 302
    assert not ReviewRequest.objects.exists()
    # Their member sees nothing of ours.
    client.force_login(make_member(other_org))
    assert client.get(reverse("review:dataset", args=[data["campaign"].pk])).status_code == 404
    page = client.get(reverse("review:dataset", args=[theirs.pk]), {"q": "nguyen"})
    assert ids_on(page) == [their_item.pk]


def test_customer_never_sees_contributor_ids(client, org, data):
    support = make_member(org, role=Membership.Role.SUPPORT)
    client.force_login(support)
    campaign = data["campaign"]
    page = client.get(reverse("review:dataset", args=[campaign.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    for user in (data["north"], data["south"]):
        assert user.email not in html
        assert user.contributor.pseudonym in html
    res = api(client, campaign).json()
    row = res["results"][0]
    assert set(row["contributors"]) <= {data["north"].contributor.pseudonym, data["south"].contributor.pseudonym}
    body = str(res)
    assert "contributor_id" not in body
    for user in (data["north"], data["south"]):
        assert user.email not in body and str(user.pk) not in row["contributors"]
    # A support member views but may not act: no action buttons, and a forged POST changes nothing.
    assert 'value="review"' not in html and 'value="export"' not in html
    client.post(reverse("review:dataset", args=[campaign.pk]), {"action": "review", "all": "1"})
    client.post(reverse("review:dataset", args=[campaign.pk]),
                {"action": "export", "all": "1", "format": "jsonl", "layout": "raw"})
    assert not ReviewRequest.objects.exists() and not Export.objects.exists()


def test_selection_to_review_relabel_and_export(client, org, data):
    campaign, items = data["campaign"], data["items"]
    manager = make_member(org)
    client.force_login(manager)
    url = reverse("review:dataset", args=[campaign.pk])

    # Ticked items to review: they wait in the review queue under "sent to review".
    res = client.post(url, {"action": "review", "items": [items[0].pk, items[2].pk]})
    assert res.status_code == 302
    assert set(ReviewRequest.objects.filter(closed_at__isnull=True).values_list("item_id", flat=True)) == {
        items[0].pk, items[2].pk}
    queue = client.get(reverse("review:queue"), {"kind": "requested", "campaign": campaign.pk})
    assert sorted(ids_on(queue)) == [items[0].pk, items[2].pk]
    # A reviewer's decision closes the request.
    decide_review(annotation=data["answers"][items[0].pk][0], reviewer=manager, decision=ReviewDecision.Decision.ACCEPT)
    queue = client.get(reverse("review:queue"), {"kind": "requested", "campaign": campaign.pk})
    assert ids_on(queue) == [items[2].pk]

    # "All matching" the filter (disputed) to re-labelling: one more answer each, served by the queue again.
    before = {i.pk: i.target_overlap for i in items}
    client.post(url, {"action": "relabel", "all": "1", "state": "disputed"})
    after = {i.pk: i.target_overlap for i in Item.objects.filter(campaign=campaign)}
    assert {pk for pk in after if after[pk] == before[pk] + 1} == {items[1].pk, items[4].pk}
    assert all(after[pk] == before[pk] for pk in after if pk not in (items[1].pk, items[4].pk))
    assert Item.objects.get(pk=items[1].pk).open_slots == 1

    # Export the search's matches through the export engine: an export filtered to those items.
    client.post(url, {"action": "export", "all": "1", "q": "nguyen", "format": "jsonl", "layout": "raw"})
    export = Export.objects.get()
    assert export.filters["item_ids"] == [items[0].pk] and export.filters["finalised_only"] is False
    assert export.campaign == campaign and export.created_by == manager
    # Built by the export engine: the file holds exactly that item's answers; the card counts the choice.
    export = run_export(export.pk)
    archive = zipfile.ZipFile(export_file_path(export))
    rows = [json.loads(line) for line in archive.read("data/train.jsonl").splitlines()]
    assert {r["item_id"] for r in rows} == {items[0].pk} and len(rows) == 2
    assert '"chosen_items":1' in archive.read("README.md").decode()

    # Nothing selected: a message, nothing written.
    client.post(url, {"action": "review"})
    assert ReviewRequest.objects.count() == 2


def test_export_of_chosen_items_contains_only_them(org, data, settings):
    """The engine honours the item_ids filter (both the SQL and the ORM path build from the same filters)."""
    from exports.layouts import supported_layouts
    from exports.selectors import export_records

    campaign, items = data["campaign"], data["items"]
    layout = supported_layouts(campaign.task)["raw"]
    from django.db import transaction

    with transaction.atomic():
        records = list(export_records(campaign, layout, {"item_ids": [items[1].pk, items[3].pk]}))
    assert {r.item_id for r in records} == {items[1].pk, items[3].pk}
    assert len(records) == 4  # two answers each


def test_dashboard_reads_stored_figures_and_panel(org, data, monkeypatch):
    """A small campaign's dashboard is fresh after each change; a big one serves what is stored and asks a job;
    a flag change marks the stored authenticity panel stale."""
    from authenticity.models import CampaignReport
    from authenticity.services import forget_authenticity_panel
    from review import dashboard
    from review.models import DashboardSummary

    campaign = data["campaign"]
    # Redis outlives test databases: no refresh lock left by an earlier run for the same campaign id.
    cache.delete_many([f"console:refresh:{kind}:{campaign.pk}:{get_language()}" for kind in ("figures", "authenticity")])
    first = dashboard.campaign_dashboard(campaign)
    assert first["progress"]["annotations"] == 10 and first["authenticity"]["flags"]["flagged"] == 1
    assert DashboardSummary.objects.filter(campaign=campaign).count() == 1
    assert CampaignReport.objects.filter(campaign=campaign, stale=False).count() == 1

    # Unchanged data: the stored figures, not a recomputation.
    monkeypatch.setattr(dashboard, "compute_dashboard_figures", lambda *a, **k: pytest.fail("recomputed"))
    assert dashboard.campaign_dashboard(campaign, include_authenticity=False)["generated_at"] == first["generated_at"]
    monkeypatch.undo()

    # A new answer: a small campaign recomputes inline.
    user = data["north"]
    extra = Item.objects.create(campaign=campaign, payload={"text": "Mới"}, target_overlap=1, open_slots=1)
    lease = lease_next_item(user=user, campaign=campaign)
    assert lease.item_id == extra.pk
    submit_annotation(user=user, assignment_id=lease.pk, payload={"categories": ["safe"]})
    assert dashboard.campaign_dashboard(campaign, include_authenticity=False)["progress"]["annotations"] == 11

    # A big campaign serves the stored figures while a job refreshes them (once per minute).
    monkeypatch.setattr(dashboard, "DASHBOARD_BIG", 5)
    queued = []
    monkeypatch.setattr(dashboard.tasks.refresh_dashboard, "delay", lambda *a: queued.append(a))
    DashboardSummary.objects.filter(campaign=campaign).update(stamp="old", computed_at=first_time(first))
    assert dashboard.campaign_dashboard(campaign, include_authenticity=False)["progress"]["annotations"] == 11
    assert queued and queued[0][0] == campaign.pk

    # A lifted flag marks the stored panel stale; a big campaign asks the job, a small one recomputes.
    AuthenticityScore.objects.filter(campaign=campaign).update(flagged=False)
    forget_authenticity_panel(campaign.pk)
    assert CampaignReport.objects.get(campaign=campaign).stale
    asked = []
    monkeypatch.setattr(dashboard.authenticity_tasks.refresh_report_task, "delay", lambda *a: asked.append(a))
    assert dashboard.campaign_dashboard(campaign)["authenticity"]["flags"]["flagged"] == 1  # stored, refreshing
    assert asked
    monkeypatch.setattr(dashboard, "DASHBOARD_BIG", 10**9)
    assert dashboard.campaign_dashboard(campaign)["authenticity"]["flags"]["flagged"] == 0


def first_time(figures: dict):
    from datetime import timedelta

    from django.utils.dateparse import parse_datetime

    return parse_datetime(figures["generated_at"]) - timedelta(minutes=5)


def test_dataset_api_with_a_token(org, other_org, data):
    """An AI team's pipeline reads the dataset view with a datasets:read token, its own organisation only."""
    from rest_framework.test import APIClient

    from organizations.services import create_api_token

    _token, key = create_api_token(organization=org, name="pipeline", scopes=["datasets:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    res = client.get(reverse("campaign-dataset", args=[data["campaign"].pk]), {"q": "ba tran", "gold": "0"})
    assert res.status_code == 200 and [r["id"] for r in res.json()["results"]] == [data["items"][1].pk]
    assert res.json()["results"][0]["state"] == "disputed"
    _token, theirs = create_api_token(organization=other_org, name="theirs", scopes=["datasets:read"])
    client.credentials(HTTP_AUTHORIZATION=f"Token {theirs}")
    assert client.get(reverse("campaign-dataset", args=[data["campaign"].pk])).status_code == 404
