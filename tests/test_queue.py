"""The queue through its API: eligibility, order, leases, gold, quotas, skip/report, submit semantics."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotations.models import Annotation
from contributors.models import ContributorProfile, TrustScore
from tasks.models import Assignment, Item, RegionTally
from workqueue.counters import request_more_answers
from workqueue.expiry import reclaim_expired_leases
from workqueue.lease import lease_next_item
from workqueue.tasks import sweep_expired_leases

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_contributor(db):
    """Like conftest's, without password hashing (these tests log in with force_login or tokens)."""
    from tests.test_queue_concurrency import contributors

    return lambda region="north": contributors(1, region=region)[0]


def texts(n: int, prefix: str = "Câu") -> list[dict]:
    return [{"payload": {"text": f"{prefix} {i}"}} for i in range(n)]


def next_task(client, campaign) -> dict:
    res = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json")
    assert res.status_code == 200, res.content
    return res.json()


def submit(client, assignment_id: int, label: str = "safe", key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        reverse("assignment-submit", args=[assignment_id]),
        {"payload": {"categories": [label]}, "time_spent_ms": 1200},
        content_type="application/json",
        **headers,
    )


def check_counters(campaign) -> None:
    """Every item's counters agree with its assignments and annotations."""
    for item in Item.objects.filter(campaign=campaign):
        leased = item.assignments.filter(state=Assignment.State.LEASED).count()
        done = Annotation.objects.filter(item=item).count()
        assert (item.leased_count, item.done_count) == (leased, done), item
        assert item.open_slots == item.target_overlap - leased - done, item


def test_next_serves_each_item_at_most_overlap_times_and_never_twice_to_one_contributor(
    client, make_campaign, make_contributor
):
    campaign = make_campaign(items=texts(4), overlap=2)
    users = [make_contributor() for _ in range(5)]
    seen: dict[int, list[int]] = {u.pk: [] for u in users}
    for _round in range(5):
        for user in users:
            client.force_login(user)
            body = next_task(client, campaign)
            if body["assignment"] is None:
                assert body["code"] == "empty"
                continue
            seen[user.pk].append(body["assignment"]["item"]["id"])
            assert submit(client, body["assignment"]["id"]).status_code == 201
    for items in seen.values():
        assert len(items) == len(set(items)), "a contributor got an item twice"
    served = [i for items in seen.values() for i in items]
    assert all(served.count(i) == 2 for i in set(served)) and len(set(served)) == 4
    check_counters(campaign)


def test_next_resumes_the_open_lease_instead_of_leasing_another(client, make_campaign, make_contributor):
    campaign = make_campaign(items=texts(3))
    client.force_login(make_contributor())
    first = next_task(client, campaign)["assignment"]
    again = next_task(client, campaign)["assignment"]
    assert again["id"] == first["id"] and again["item"] == first["item"]
    assert Assignment.objects.filter(campaign=campaign).count() == 1


def test_order_is_item_priority_then_oldest(make_campaign, make_contributor):
    campaign = make_campaign(items=texts(4))
    items = list(Item.objects.filter(campaign=campaign).order_by("id"))
    Item.objects.filter(pk=items[2].pk).update(priority=5)
    Item.objects.filter(pk=items[3].pk).update(priority=5)
    user = make_contributor()
    order = []
    for _ in range(4):
        lease = lease_next_item(user=user, campaign=campaign)
        order.append(lease.item_id)
        Assignment.objects.filter(pk=lease.pk).update(state=Assignment.State.SKIPPED)
    assert order == [items[2].pk, items[3].pk, items[0].pk, items[1].pk]


def test_source_contributor_never_gets_their_own_item(make_campaign, make_contributor):
    speaker = make_contributor()
    campaign = make_campaign(items=texts(2))
    own, other = Item.objects.filter(campaign=campaign).order_by("id")
    Item.objects.filter(pk=own.pk).update(source_contributor=speaker, priority=10)
    lease = lease_next_item(user=speaker, campaign=campaign)
    assert lease.item_id == other.pk
    Assignment.objects.filter(pk=lease.pk).update(state=Assignment.State.SKIPPED)
    assert lease_next_item(user=speaker, campaign=campaign).code == "empty"


def test_api_never_reveals_gold(client, make_campaign, make_contributor):
    campaign = make_campaign(items=[{"payload": {"text": "Mua ngay"}, "gold_answer": {"categories": ["spam"]}}], gold_rate=1.0)
    client.force_login(make_contributor())
    body = next_task(client, campaign)
    assert body["assignment"]["item"]["payload"] == {"text": "Mua ngay"}
    flat = json.dumps(body)
    assert "gold" not in flat and "spam" not in flat


# --- who gets nothing -----------------------------------------------------------------------------


def test_suspended_and_banned_contributors_get_nothing(client, make_campaign, make_contributor):
    campaign = make_campaign(items=texts(2))
    for status in (ContributorProfile.Status.SUSPENDED, ContributorProfile.Status.BANNED):
        user = make_contributor()
        ContributorProfile.objects.filter(user=user).update(status=status, status_reason="gold failures")
        client.force_login(user)
        body = next_task(client, campaign)
        assert body["assignment"] is None and body["code"] == "suspended"
    assert not Assignment.objects.exists()


def test_below_verification_level_gets_nothing(client, make_campaign, make_contributor):
    campaign = make_campaign(items=texts(2), min_verification_level=4)
    client.force_login(make_contributor())
    body = next_task(client, campaign)
    assert (body["assignment"], body["code"]) == (None, "verification")


def test_low_trust_gets_nothing_while_trusted_contributor_works(client, make_campaign, make_contributor):
    campaign = make_campaign(items=texts(2), min_trust=0.6)
    low, high = make_contributor(), make_contributor()
    TrustScore.objects.create(contributor=low.contributor, task_type="moderation", score=0.3)
    TrustScore.objects.create(contributor=high.contributor, task_type="moderation", score=0.9)
    client.force_login(low)
    assert next_task(client, campaign)["code"] == "trust"
    client.force_login(high)
    assert next_task(client, campaign)["assignment"] is not None
    assert not Assignment.objects.filter(contributor=low).exists()


def test_unqualified_contributor_gets_nothing(client, make_campaign, make_contributor):
    from contributors.selectors import is_qualified

    campaign = make_campaign(items=texts(2), requires_qualification=True)
    user = make_contributor()  # has passed no qualification test
    assert not is_qualified(user, "moderation")
    client.force_login(user)
    body = next_task(client, campaign)
    assert (body["assignment"], body["code"]) == (None, "qualification")
    assert not Assignment.objects.exists()


def test_inactive_or_missing_campaign_is_404(client, make_campaign, make_contributor):
    campaign = make_campaign(items=texts(1))
    campaign.status = campaign.Status.PAUSED
    campaign.save(update_fields=["status"])
    client.force_login(make_contributor())
    assert client.post(reverse("task-next", args=[campaign.pk])).status_code == 404
    assert client.post(reverse("task-next", args=[999999])).status_code == 404


def test_organisation_token_and_anonymous_cannot_take_work(client, make_campaign, token_client):
    campaign = make_campaign(items=texts(1))
    assert token_client().post(reverse("task-next", args=[campaign.pk])).status_code == 403
    assert client.post(reverse("task-next", args=[campaign.pk])).status_code in (401, 403)
    assert not Assignment.objects.exists()


# --- leases ---------------------------------------------------------------------------------------


def expire(assignment_id: int) -> None:
    Assignment.objects.filter(pk=assignment_id).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_expired_lease_returns_to_queue_at_request_time(client, make_campaign, make_contributor):
    campaign = make_campaign(items=texts(1), overlap=1)
    slow, quick = make_contributor(), make_contributor()
    client.force_login(slow)
    lease = next_task(client, campaign)["assignment"]
    client.force_login(quick)
    assert next_task(client, campaign)["code"] == "empty"
    expire(lease["id"])
    again = next_task(client, campaign)["assignment"]
    assert again["item"]["id"] == lease["item"]["id"]
    assert Assignment.objects.get(pk=lease["id"]).state == Assignment.State.EXPIRED
    assert submit(client, again["id"]).status_code == 201
    # The slow contributor's late answer is refused: the item no longer needs it.
    client.force_login(slow)
    res = submit(client, lease["id"])
    assert res.status_code == 409 and res.json()["error"]["code"] == "lease_expired"
    assert "ran out" in res.json()["error"]["message"]
    check_counters(campaign)


def test_late_submission_is_accepted_while_the_item_still_needs_it(client, make_campaign, make_contributor):
    campaign = make_campaign(items=texts(1), overlap=2)
    user = make_contributor()
    client.force_login(user)
    lease = next_task(client, campaign)["assignment"]
    expire(lease["id"])
    assert sweep_expired_leases() == 1
    assert Item.objects.get(pk=lease["item"]["id"]).open_slots == 2
    assert submit(client, lease["id"]).status_code == 201
    assert Item.objects.get(pk=lease["item"]["id"]).open_slots == 1
    check_counters(campaign)


def test_an_own_expired_lease_is_closed_before_the_next_pick(client, make_campaign, make_contributor):
    campaign = make_campaign(items=texts(2), overlap=1)
    client.force_login(make_contributor())
    first = next_task(client, campaign)["assignment"]
    expire(first["id"])
    second = next_task(client, campaign)["assignment"]
    assert second["item"]["id"] != first["item"]["id"]
    assert Assignment.objects.get(pk=first["id"]).state == Assignment.State.EXPIRED
    check_counters(campaign)


def test_reclaim_is_idempotent(make_campaign, make_contributor):
    campaign = make_campaign(items=texts(3), overlap=1)
    leases = [lease_next_item(user=make_contributor(), campaign=campaign) for _ in range(3)]
    for lease in leases:
        expire(lease.pk)
    assert reclaim_expired_leases() == 3
    assert reclaim_expired_leases() == 0
    check_counters(campaign)


# --- skip, report, dynamic overlap ------------------------------------------------------------------


def test_skip_and_report_release_the_slot_and_keep_the_reason(client, make_campaign, make_contributor):
    campaign = make_campaign(items=texts(2), overlap=1)
    user, other = make_contributor(), make_contributor()
    client.force_login(user)
    first = next_task(client, campaign)["assignment"]
    res = client.post(reverse("assignment-skip", args=[first["id"]]), {"reason": "Không hiểu"}, content_type="application/json")
    assert res.status_code == 200 and res.json()["state"] == "skipped"
    second = next_task(client, campaign)["assignment"]
    assert second["item"]["id"] != first["item"]["id"]
    res = client.post(reverse("assignment-report", args=[second["id"]]), {"reason": " "}, content_type="application/json")
    assert res.status_code == 400 and res.json()["error"]["field"] == "reason"
    res = client.post(
        reverse("assignment-report", args=[second["id"]]), {"reason": "Nội dung bị cắt"}, content_type="application/json"
    )
    assert res.status_code == 200 and res.json()["state"] == "reported"
    assert Assignment.objects.get(pk=second["id"]).reason == "Nội dung bị cắt"
    assert next_task(client, campaign)["code"] == "empty"  # never re-offered to the same contributor
    # Skipping twice, or submitting a skipped task, is refused clearly.
    res = client.post(reverse("assignment-skip", args=[first["id"]]), {}, content_type="application/json")
    assert res.status_code == 400 and res.json()["error"]["field"] == "assignment"
    assert submit(client, first["id"]).json()["error"]["code"] == "closed"
    client.force_login(other)
    assert next_task(client, campaign)["assignment"] is not None
    check_counters(campaign)


def test_skip_of_someone_elses_assignment_is_404(client, make_campaign, make_contributor):
    campaign = make_campaign(items=texts(1))
    owner, intruder = make_contributor(), make_contributor()
    lease = lease_next_item(user=owner, campaign=campaign)
    client.force_login(intruder)
    for name in ("assignment-skip", "assignment-report", "assignment-submit"):
        res = client.post(reverse(name, args=[lease.pk]), {"reason": "x", "payload": {"categories": ["safe"]}},
                          content_type="application/json")
        assert res.status_code == 404, name
    assert Assignment.objects.get(pk=lease.pk).state == Assignment.State.LEASED


def test_dynamic_overlap_serves_the_item_again(make_campaign, make_contributor):
    campaign = make_campaign(items=texts(1), overlap=1, max_overlap=2)
    item = Item.objects.get(campaign=campaign)
    Assignment.objects.filter(pk=lease_next_item(user=make_contributor(), campaign=campaign).pk)
    late = make_contributor()
    assert lease_next_item(user=late, campaign=campaign).code == "empty"
    assert request_more_answers(item_id=item.pk, up_to=campaign.max_overlap)
    assert lease_next_item(user=late, campaign=campaign).item_id == item.pk
    assert not request_more_answers(item_id=item.pk, up_to=campaign.max_overlap)


# --- submission -----------------------------------------------------------------------------------


def test_idempotent_submit_returns_the_first_result(client, make_campaign, make_contributor):
    campaign = make_campaign(items=texts(1))
    client.force_login(make_contributor())
    lease = next_task(client, campaign)["assignment"]
    first = submit(client, lease["id"], key="k-1")
    retry = submit(client, lease["id"], "hate", key="k-1")
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["annotation_id"] == first.json()["annotation_id"] and retry.json()["replayed"]
    assert Annotation.objects.count() == 1 and Annotation.objects.get().payload == {"categories": ["safe"]}
    again = submit(client, lease["id"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_submitted"
    check_counters(campaign)


def test_bad_payload_is_400_naming_the_field_and_stores_nothing(client, make_campaign, make_contributor):
    campaign = make_campaign(items=texts(1))
    client.force_login(make_contributor())
    lease = next_task(client, campaign)["assignment"]
    res = client.post(reverse("assignment-submit", args=[lease["id"]]), {"payload": {"categories": ["nope"]}},
                      content_type="application/json")
    assert res.status_code == 400 and res.json()["error"]["field"] == "categories[0]"
    res = client.post(reverse("assignment-submit", args=[lease["id"]]), {"time_spent_ms": -1}, content_type="application/json")
    assert res.status_code == 400 and res.json()["error"]["field"] in ("payload", "time_spent_ms")
    assert not Annotation.objects.exists()
    assert Assignment.objects.get(pk=lease["id"]).state == Assignment.State.LEASED
    check_counters(campaign)
    assert submit(client, lease["id"]).status_code == 201


# --- region quotas --------------------------------------------------------------------------------


def test_region_quota_stops_serving_a_full_region(client, make_campaign, make_contributor):
    # 10 items x overlap 1 = 10 answers: north may hold ceil(40% x 10) = 4, south 6.
    campaign = make_campaign(items=texts(10), overlap=1, region_quotas={"north": 40, "south": 60})
    north = [make_contributor(region="north") for _ in range(5)]
    leases = [lease_next_item(user=u, campaign=campaign) for u in north]
    assert [getattr(x, "code", "ok") for x in leases] == ["ok"] * 4 + ["quota_full"]
    central = make_contributor(region="central")
    assert lease_next_item(user=central, campaign=campaign).code == "region"
    # No region means an incomplete profile (verification level 1); a campaign open to level 1 says why.
    nowhere = make_contributor(region="")
    assert lease_next_item(user=nowhere, campaign=campaign).code == "verification"
    campaign.min_verification_level = 1
    assert "home region" in lease_next_item(user=nowhere, campaign=campaign).reason
    campaign.min_verification_level = 2
    # A skipped lease gives its region slot back.
    client.force_login(north[0])
    assert client.post(reverse("assignment-skip", args=[leases[0].pk]), {}, content_type="application/json").status_code == 200
    assert isinstance(lease_next_item(user=north[4], campaign=campaign), Assignment)
    assert RegionTally.objects.get(campaign=campaign, region="north").taken == 4
    south = [make_contributor(region="south") for _ in range(6)]
    assert all(isinstance(lease_next_item(user=u, campaign=campaign), Assignment) for u in south)
    assert Assignment.objects.filter(campaign=campaign, state="leased").count() == 10


def test_region_quota_slot_returns_on_expiry(make_campaign, make_contributor):
    campaign = make_campaign(items=texts(2), overlap=1, region_quotas={"north": 50, "south": 50})
    first = lease_next_item(user=make_contributor(region="north"), campaign=campaign)
    second = make_contributor(region="north")
    assert lease_next_item(user=second, campaign=campaign).code == "quota_full"
    expire(first.pk)
    assert reclaim_expired_leases() == 1
    assert isinstance(lease_next_item(user=second, campaign=campaign), Assignment)


# --- gold mixing ---------------------------------------------------------------------------------


def test_gold_is_mixed_in_at_the_campaign_rate_and_feeds_trust(make_campaign):
    from tests.test_queue_concurrency import contributors
    from workqueue.submit import submit_annotation

    gold = [{"payload": {"text": f"Vàng {i}"}, "gold_answer": {"categories": ["spam"]}} for i in range(40)]
    campaign = make_campaign(items=texts(300) + gold, overlap=3, gold_rate=0.25)
    gold_ids = set(Item.objects.filter(campaign=campaign, is_gold=True).values_list("id", flat=True))
    gold_served = 0
    for user in contributors(10):
        for _ in range(20):
            lease = lease_next_item(user=user, campaign=campaign)
            is_gold = lease.item_id in gold_ids
            # The very first gold answer is wrong, so trust sees both outcomes (one miss never suspends).
            label = "safe" if is_gold and gold_served == 0 else "spam"
            gold_served += is_gold
            submit_annotation(user=user, assignment_id=lease.pk, payload={"categories": [label]})
    # 200 draws at p = 0.25: mean 50, sd ~6.1; accept within ~4 sd.
    assert 26 <= gold_served <= 74, gold_served
    assert Annotation.objects.filter(is_gold=True).count() == gold_served
    correct = Annotation.objects.filter(is_gold=True, gold_correct=True).count()
    trust = TrustScore.objects.filter(task_type="moderation")
    assert sum(trust.values_list("gold_seen", flat=True)) == gold_served, "gold answers did not reach trust"
    assert sum(trust.values_list("gold_correct", flat=True)) == correct == gold_served - 1


# --- query budget ------------------------------------------------------------------------------------


def test_next_and_submit_stay_within_a_small_query_budget(client, make_campaign, make_contributor):
    campaign = make_campaign(items=texts(20))
    client.force_login(make_contributor())
    next_task(client, campaign)  # warm caches (content types, sites)
    Assignment.objects.update(state=Assignment.State.SKIPPED)
    Item.objects.update(leased_count=0, open_slots=3)
    with CaptureQueriesContext(connection) as next_queries:
        lease = next_task(client, campaign)["assignment"]
    with CaptureQueriesContext(connection) as submit_queries:
        assert submit(client, lease["id"], key="budget").status_code == 201
    # session, user, campaign, profile, 2 verification-level reads, and resume-or-pick: one statement
    # on PostgreSQL (select + update + insert through the ORM on SQLite). Savepoints are the test's.
    budget = 7 if connection.vendor == "postgresql" else 11
    picks = [q for q in next_queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(picks) <= budget, [q["sql"][:80] for q in picks]
    assert len([q for q in submit_queries.captured_queries if "SAVEPOINT" not in q["sql"]]) <= 10


# --- personal tokens (clients other than the browser) -------------------------------------------------


def test_personal_token_drives_the_task_api_without_a_session(client, make_campaign, make_contributor, token_client):
    from rest_framework.test import APIClient

    campaign = make_campaign(items=texts(2))
    user = make_contributor()
    client.force_login(user)
    res = client.post(reverse("personal-token-list"), {"name": "Điện thoại"}, content_type="application/json")
    assert res.status_code == 201, res.content
    key = res.json()["key"]
    assert key.startswith(res.json()["prefix"] + ".")
    assert "key" not in client.get(reverse("personal-token-list")).json()[0]

    app = APIClient(enforce_csrf_checks=True)  # no session, no CSRF token: the bearer token is the credential
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    lease = app.post(reverse("task-next", args=[campaign.pk])).json()["assignment"]
    res = app.post(reverse("assignment-submit", args=[lease["id"]]), {"payload": {"categories": ["safe"]}}, format="json")
    assert res.status_code == 201
    assert Annotation.objects.get().contributor == user
    # A token cannot mint tokens; a revoked or wrong token is refused.
    assert app.post(reverse("personal-token-list"), {"name": "x"}, format="json").status_code == 403
    token_id = client.get(reverse("personal-token-list")).json()[0]["id"]
    other = make_contributor()
    client.force_login(other)
    assert client.delete(reverse("personal-token-detail", args=[token_id])).status_code == 404
    client.force_login(user)
    assert client.delete(reverse("personal-token-detail", args=[token_id])).status_code == 204
    assert app.post(reverse("task-next", args=[campaign.pk])).status_code == 401
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {key[:-2]}xx")
    assert app.post(reverse("task-next", args=[campaign.pk])).status_code == 401


def test_session_requests_to_the_task_api_need_csrf(make_campaign, make_contributor):
    from django.test import Client

    campaign = make_campaign(items=texts(1))
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_contributor())
    assert browser.post(reverse("task-next", args=[campaign.pk])).status_code == 403
    assert not Assignment.objects.exists()


def test_personal_token_needs_a_name(client, make_contributor):
    client.force_login(make_contributor())
    res = client.post(reverse("personal-token-list"), {"name": ""}, content_type="application/json")
    assert res.status_code == 400 and res.json()["error"]["field"] == "name"


def test_malformed_requests_are_4xx_and_store_nothing(client, make_campaign, make_contributor):
    campaign = make_campaign(items=texts(1))
    client.force_login(make_contributor())
    lease = next_task(client, campaign)["assignment"]
    url = reverse("assignment-submit", args=[lease["id"]])
    res = client.post(url, "{not json", content_type="application/json")
    assert res.status_code == 400
    res = client.post(url, {"payload": {"categories": ["safe"]}}, content_type="application/json",
                      HTTP_IDEMPOTENCY_KEY="k" * 101)
    assert res.status_code == 400 and res.json()["error"]["field"] == "Idempotency-Key"
    res = client.post(url, {"payload": "safe"}, content_type="application/json")
    assert res.status_code == 400 and res.json()["error"]["code"] == "invalid"
    assert client.post(reverse("assignment-submit", args=[2**62]), {"payload": {}}, content_type="application/json").status_code == 404
    res = client.post(reverse("assignment-skip", args=[lease["id"]]), {"reason": "x" * 2001}, content_type="application/json")
    assert res.status_code == 400 and res.json()["error"]["field"] == "reason"
    assert not Annotation.objects.exists()
    assert Assignment.objects.get(pk=lease["id"]).state == Assignment.State.LEASED
    check_counters(campaign)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_beat_sweep_on_a_real_worker_returns_expired_leases(make_campaign, make_contributor, celery_worker_process):
    from tests.helpers import wait_for

    campaign = make_campaign(items=texts(2), overlap=1)
    leases = [lease_next_item(user=make_contributor(), campaign=campaign) for _ in range(2)]
    for lease in leases:
        expire(lease.pk)
    sweep_expired_leases.delay()
    wait_for(lambda: not Assignment.objects.filter(state=Assignment.State.LEASED).exists(), timeout=30)
    assert Item.objects.filter(campaign=campaign, open_slots=1, leased_count=0).count() == 2
