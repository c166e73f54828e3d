"""Review queue, review decisions feeding trust and consensus, the dashboard, and list pages at 10,000 rows."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotations.models import Annotation, Consensus
from contributors.models import TrustScore
from organizations.models import Membership
from review.models import ReviewDecision
from review.services import appoint_reviewer, excluded_annotation_ids
from tasks.models import Assignment, Item
from tests.test_admin_console import answer, make_member
from tests.test_review_views import panel_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(org):
    return make_member(org)


@pytest.fixture
def disputed_item(make_campaign, make_contributor):
    campaign = make_campaign(items=[{"payload": {"text": "Mua ngay kẻo hết"}}], overlap=3, pay_per_task=500,
                             budget=1000)
    item = campaign.items.get()
    users = [make_contributor(region=r) for r in ("north", "central", "south")]
    answers = [answer(campaign, item, u, {"categories": [c]}) for u, c in zip(users, ["spam", "safe", "hate"],
                                                                                strict=True)]
    Item.objects.filter(pk=item.pk).update(done_count=3, leased_count=0, open_slots=0)
    Consensus.objects.create(item=item, campaign=campaign, state=Consensus.State.DISPUTED, result={
        "categories": ["spam"]}, confidence=0.34, agreement=0.0, n_answers=3)
    return campaign, item, answers


def test_queue_filters_and_scoping(client, manager, other_org, disputed_item, make_campaign):
    campaign, item, _answers = disputed_item
    other = make_campaign(organization=other_org, items=[{"payload": {"text": "khác"}}])
    Consensus.objects.create(item=other.items.get(), campaign=other, state=Consensus.State.DISPUTED)
    client.force_login(manager)
    page = client.get(reverse("review:queue") + "?kind=disputed")
    assert [i.pk for i in page.context["page"]] == [item.pk]
    low = client.get(reverse("review:queue") + "?kind=low_confidence")
    assert [i.pk for i in low.context["page"]] == [item.pk]  # 0.34 < threshold 0.7
    pseudonym = _answers[0].contributor.contributor.pseudonym
    by_contributor = client.get(reverse("review:queue") + f"?kind=all&contributor={pseudonym}")
    assert [i.pk for i in by_contributor.context["page"]] == [item.pk]
    nobody = client.get(reverse("review:queue") + "?kind=all&contributor=c_nobody")
    assert list(nobody.context["page"]) == []
    assert client.get(reverse("review:queue") + "?kind=flagged").status_code == 200


def test_item_page_shows_answers_side_by_side(client, manager, disputed_item):
    _campaign, item, answers = disputed_item
    client.force_login(manager)
    page = client.get(reverse("review:item", args=[item.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="console-answer agrees"') == 1 and html.count('class="console-answer differs"') == 2
    # The item is drawn by its type's page module in a framed read-only view (tests/test_review_views.py).
    assert reverse("review:panel", args=[item.pk, 0]) in html
    assert panel_config(client, item, 0)["item"] == {"text": "Mua ngay kẻo hết"}


def test_reject_and_correct_feed_trust_and_consensus(client, manager, disputed_item,
                                                     django_capture_on_commit_callbacks):
    campaign, item, (spam, safe, hate) = disputed_item
    client.force_login(manager)
    url = reverse("review:item", args=[item.pk])
    res = client.post(url, {"annotation": hate.pk, "decision": "reject", "reason": ""})
    assert "Say why" in res.content.decode()  # a rejection needs a reason
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"annotation": hate.pk, "decision": "reject",
                                 "reason": "Không phải thù ghét"}).status_code == 302
    assert excluded_annotation_ids(item.pk) == {hate.pk}
    item.refresh_from_db()
    assert item.target_overlap == 4 and item.open_slots == 1  # a replacement answer is requested
    trust = TrustScore.objects.get(contributor__user=hate.contributor, task_type="moderation")
    assert (trust.consensus_seen, trust.consensus_agreed) == (1, 0)
    res = client.post(url, {"annotation": safe.pk, "decision": "correct", "corrected_payload": '{"categories": ["x"]}'})
    assert "categories" in res.content.decode() and not ReviewDecision.objects.filter(decision="correct").exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"annotation": safe.pk, "decision": "correct", "corrected_payload": '{"categories": ["spam"]}'})
    consensus = Consensus.objects.get(item=item)
    assert consensus.method == "expert_review" and consensus.state == "finalised"
    assert consensus.result == {"categories": ["spam"]}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"annotation": spam.pk, "decision": "accept"})
        client.post(url, {"annotation": spam.pk, "decision": "accept"})  # a repeat does not count twice
    trust = TrustScore.objects.get(contributor__user=spam.contributor, task_type="moderation")
    assert (trust.consensus_seen, trust.consensus_agreed) == (1, 1)
    assert ReviewDecision.objects.filter(annotation=spam, is_current=True).count() == 1


def test_appointed_reviewer_reviews_only_their_campaign(client, org, disputed_item, make_campaign, make_contributor):
    campaign, item, answers = disputed_item
    other = make_campaign(organization=org, items=[{"payload": {"text": "khác"}}])
    reviewer = make_member(org, Membership.Role.REVIEWER)
    client.force_login(reviewer)
    assert client.get(reverse("review:item", args=[item.pk])).status_code == 404
    appoint_reviewer(campaign=campaign, reviewer=reviewer)
    assert client.get(reverse("review:item", args=[item.pk])).status_code == 200
    assert client.get(reverse("review:item", args=[other.items.get().pk])).status_code == 404
    assert client.get(reverse("review:dashboard", args=[other.pk])).status_code == 404


def test_dashboard_numbers(client, manager, disputed_item):
    campaign, item, answers = disputed_item
    client.force_login(manager)
    data = client.get(reverse("review:dashboard-json", args=[campaign.pk])).json()
    assert data["progress"]["annotations"] == 3 and data["progress"]["items"] == 1
    assert {r["state"]: r["n"] for r in data["items_by_state"]}["disputed"] == 1
    assert data["cost"] == {**data["cost"], "spent": "1500.00", "budget": "1000.00", "over_budget_projected": True}
    assert sum(r["n"] for r in data["throughput_per_hour"]) == 3
    assert data["completion"][-1]["answers"] == 3 and data["completion"][-1]["percent"] == 100.0
    assert {r["region"]: r["count"] for r in data["regions"]} == {"north": 1, "central": 1, "south": 1}
    page = client.get(reverse("review:dashboard", args=[campaign.pk]))
    html = page.content.decode()
    assert 'id="dashboard-data"' in html and "vendor/chartjs/chart.umd.min.js" in html and "<script>" not in html
    # What a manager reads (issue #20): whole đồng grouped, a local time, region names, never raw values.
    kpis = html[html.index('id="kpi-spent"'):html.index("</section>", html.index('id="kpi-spent"'))]
    visible = html.split('<script id="dashboard-data"')[0]  # the JSON below it keeps machine values
    assert ">1,500</b>" in kpis and ">1,000</span>" in kpis and "1500.00" not in visible
    updated = html[html.index('id="dash-updated">') + 18:html.index("</span>", html.index('id="dash-updated">'))]
    assert "T" not in updated and "+00:00" not in updated and updated.strip()
    assert "<td>North</td>" in visible and "<td>north</td>" not in visible and "None" not in visible
    vi = client.get(reverse("review:dashboard", args=[campaign.pk]), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert ">1.500</b>" in vi and "<td>Miền Bắc</td>" in vi
    assert "<td>Chưa bắt đầu</td>" in vi  # item-state labels: the cached figures are kept per language


@pytest.fixture
def ten_thousand_annotations(make_campaign, make_contributor):
    campaign = make_campaign(items=[], overlap=10, max_overlap=10)
    users = [make_contributor() for _ in range(10)]
    from tasks.services import new_item

    items = Item.objects.bulk_create(new_item(campaign, payload={"text": f"mục {i}"}) for i in range(1000))
    now = timezone.now()
    assignments = Assignment.objects.bulk_create(
        Assignment(item=item, campaign=campaign, contributor=user, state="submitted", expires_at=now)
        for item in items for user in users
    )
    Annotation.objects.bulk_create(
        Annotation(assignment=a, item_id=a.item_id, campaign=campaign, contributor_id=a.contributor_id,
                   payload={"categories": ["safe"]}) for a in assignments
    )
    return campaign


LIST_PAGES = ["admin:annotations_annotation_changelist", "admin:tasks_item_changelist",
              "admin:tasks_assignment_changelist", "admin:annotations_consensus_changelist"]


def test_list_pages_at_10k_rows(client, manager, ten_thousand_annotations):
    """One fixture of 10,000 annotations (it takes seconds to build) for every list page and the paginator."""
    from web.console import EstimatedCountPaginator

    assert Annotation.objects.count() == 10_000
    client.force_login(manager)
    for url_name in LIST_PAGES:
        client.get(reverse(url_name))  # warm caches (content types, session)
        for query in ("", f"?campaign__id__exact={ten_thousand_annotations.pk}"):
            with CaptureQueriesContext(connection) as queries:
                res = client.get(reverse(url_name) + query)
            assert res.status_code == 200
            if "consensus" not in url_name:
                assert len(res.context["cl"].result_list) == 100
            # session, user, memberships, count, page rows, campaign filter and admin bookkeeping: a fixed
            # number whatever the row count (no query per row).
            assert len(queries) <= 12, (url_name, [q["sql"][:120] for q in queries])

    if connection.vendor != "postgresql":
        return  # planner estimates exist on PostgreSQL only
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotations_annotation")
    paginator = EstimatedCountPaginator(Annotation.objects.all(), 100)
    paginator.exact_below = 1000
    with CaptureQueriesContext(connection) as queries:
        count = paginator.count
    assert "EXPLAIN" in queries[0]["sql"] and "COUNT(" not in queries[0]["sql"].upper()
    assert 5_000 < count < 20_000  # an estimate of the 10,000 rows
    assert EstimatedCountPaginator(Annotation.objects.filter(pk__lt=0), 100).count == 0


def test_flagged_answers_in_queue_and_authenticity_verdict(client, manager, disputed_item):
    from authenticity.models import AuthenticityScore

    campaign, item, (spam, safe, hate) = disputed_item
    Consensus.objects.filter(item=item).update(state=Consensus.State.FINALISED, confidence=0.9)
    client.force_login(manager)
    assert list(client.get(reverse("review:queue") + "?kind=flagged").context["page"]) == []
    AuthenticityScore.objects.create(annotation=safe, campaign=campaign, contributor=safe.contributor, score=0.1,
                                     flagged=True, reasons=["pasted"])
    page = client.get(reverse("review:queue") + "?kind=flagged")
    assert [i.pk for i in page.context["page"]] == [item.pk]
    html = client.get(reverse("review:item", args=[item.pk])).content.decode()
    assert "console-flag" in html and "pasted" in html
    client.post(reverse("review:authenticity", args=[item.pk]), {"annotation": safe.pk, "human": "1"})
    assert AuthenticityScore.objects.get(annotation=safe).review_decision == "human"


def test_dashboard_alpha_and_trend_from_campaign_refits(client, manager, make_campaign, make_contributor):
    from consensus.engine import rescore_campaign
    from review.models import QualitySnapshot

    campaign = make_campaign(items=[{"payload": {"text": f"câu {i}"}} for i in range(6)], overlap=3)
    users = [make_contributor() for _ in range(3)]
    labels = [["spam"] * 3, ["safe"] * 3, ["hate", "hate", "safe"], ["spam"] * 3, ["safe"] * 3, ["safe"] * 3]
    for item, row in zip(campaign.items.order_by("id"), labels, strict=True):
        for user, label in zip(users, row, strict=True):
            answer(campaign, item, user, {"categories": [label]})
    client.force_login(manager)
    assert client.get(reverse("review:dashboard-json", args=[campaign.pk])).json()["agreement"]["alpha"] is None
    rescore_campaign(campaign_id=campaign.pk)
    rescore_campaign(campaign_id=campaign.pk)
    assert QualitySnapshot.objects.filter(campaign=campaign).count() == 2
    full = client.get(reverse("review:dashboard-json", args=[campaign.pk])).json()
    data = full["agreement"]
    assert full["contributors"]["source"] == "consensus re-fit" and full["contributors"]["top"]
    assert 0.5 < data["alpha"] <= 1.0
    assert len(data["alpha_trend"]) == 2 and data["alpha_trend"][-1]["alpha"] == pytest.approx(data["alpha"], abs=1e-3)
    assert data["alpha_per_question"]


def test_rescore_button_starts_the_consensus_job(client, manager, disputed_item):
    from annotations.models import ConsensusJob
    from consensus.tasks import run_consensus_job
    from review.models import QualitySnapshot

    campaign, _item, _answers = disputed_item
    client.force_login(manager)
    res = client.post(reverse("review:rescore", args=[campaign.pk]))
    assert res.status_code == 302
    job = ConsensusJob.objects.get(campaign=campaign)
    run_consensus_job.apply(args=[job.pk])  # what the worker does with the queued job
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert QualitySnapshot.objects.filter(campaign=campaign).count() == 1


def test_reviewed_items_leave_the_default_queue(client, manager, disputed_item):
    campaign, item, (spam, _safe, _hate) = disputed_item
    client.force_login(manager)
    client.post(reverse("review:item", args=[item.pk]), {"annotation": spam.pk, "decision": "accept"})
    assert list(client.get(reverse("review:queue")).context["page"]) == []
    # the form sends the hidden "0" then the checked box's "1": the box wins
    assert list(client.get(reverse("review:queue") + "?unreviewed=0&unreviewed=1").context["page"]) == []
    assert [i.pk for i in client.get(reverse("review:queue") + "?unreviewed=0").context["page"]] == [item.pk]


def test_item_page_compares_rlhf_answers_in_the_original_order(client, manager, make_campaign, make_contributor):
    """Contributors see the two responses in shuffled order; the page compares by the type's own rule."""
    from tasks.types import get_task_type

    item_payload = {"prompt": "Thủ đô của Việt Nam?", "responses": [{"text": "Hà Nội."}, {"text": "Huế."}]}
    campaign = make_campaign("rlhf", items=[{"payload": item_payload}], overlap=2)
    item = Item.objects.get(campaign=campaign)
    rlhf = get_task_type("rlhf")
    # Both prefer ORIGINAL response 0: one saw it as A, the other (swapped) as B. A third prefers response 1.
    for choice, order in (("A", [0, 1]), ("B", [1, 0]), ("B", [0, 1])):
        payload = rlhf.validate_annotation({"choice": choice, "strength": 2}, config=campaign.config,
                                           item_payload=item_payload, view={"order": order})
        answer(campaign, item, make_contributor(), payload)
    Consensus.objects.create(item=item, campaign=campaign, state="finalised",
                             result={"choice": 0, "chosen": 0, "rejected": 1, "ranking": [0, 1]})
    client.force_login(manager)
    html = client.get(reverse("review:item", args=[item.pk])).content.decode()
    assert html.count('class="console-answer agrees"') == 2 and html.count('class="console-answer differs"') == 1
