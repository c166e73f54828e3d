"""The trust formula and the automatic suspension rule (unit level, real database)."""
import pytest
from django.urls import reverse

from contributors import selectors, services
from contributors.models import ContributorProfile, StatusChange, TrustScore


def trust(**counts):
    base = {"gold_seen": 0, "gold_correct": 0, "consensus_seen": 0, "consensus_agreed": 0}
    return services.trust_formula(**{**base, **counts})


def test_formula_newcomer_is_the_prior_and_evidence_moves_it_smoothly():
    assert trust() == 0.5
    assert trust(gold_seen=10, gold_correct=10) == pytest.approx((20 + 2) / (20 + 4))
    assert trust(gold_seen=10, gold_correct=0) == pytest.approx(2 / 24)
    assert trust(consensus_seen=4, consensus_agreed=4) == pytest.approx(6 / 8)
    # A gold answer weighs twice a consensus check.
    assert trust(gold_seen=1, gold_correct=1) > trust(consensus_seen=1, consensus_agreed=1) > 0.5
    # Monotone: one more correct answer never lowers trust; one more wrong never raises it.
    for seen in range(0, 30, 3):
        for correct in range(seen + 1):
            now = trust(gold_seen=seen, gold_correct=correct, consensus_seen=5, consensus_agreed=3)
            assert 0 < now < 1
            assert trust(gold_seen=seen + 1, gold_correct=correct + 1, consensus_seen=5, consensus_agreed=3) >= now
            assert trust(gold_seen=seen + 1, gold_correct=correct, consensus_seen=5, consensus_agreed=3) <= now


def test_formula_constants_come_from_settings(settings):
    settings.CONTRIBUTOR_TRUST_GOLD_WEIGHT = 1.0
    settings.CONTRIBUTOR_TRUST_PRIOR_WEIGHT = 0.0
    assert trust(gold_seen=4, gold_correct=3) == 0.75


def test_suspension_due_needs_enough_answers_and_looks_at_the_window_only(settings):
    settings.CONTRIBUTOR_SUSPEND_WINDOW = 20
    settings.CONTRIBUTOR_SUSPEND_MIN_GOLD = 10
    settings.CONTRIBUTOR_SUSPEND_BELOW = 0.5
    assert services.suspension_due([0] * 9) is None  # too few to judge
    assert services.suspension_due([0] * 10) == 0.0
    assert services.suspension_due([1] * 10 + [0] * 10) is None  # 50 % is not below 50 %
    assert services.suspension_due([1] * 10 + [0] * 11) == pytest.approx(9 / 20)  # the oldest fell out
    assert services.suspension_due([0] * 30 + [1] * 20) is None  # old mistakes forgotten


@pytest.mark.django_db
def test_record_functions_update_counts_and_score(make_contributor):
    user = make_contributor()
    assert selectors.trust_score(user, "moderation") == 0.5
    services.record_gold_answer(user=user, task_type="moderation", correct=True)
    services.record_gold_answer(user=user, task_type="moderation", correct=False)
    services.record_consensus_agreement(user=user, task_type="moderation", agreed=True)
    row = TrustScore.objects.get(contributor__user=user, task_type="moderation")
    assert (row.gold_seen, row.gold_correct, row.consensus_seen, row.consensus_agreed) == (2, 1, 1, 1)
    assert row.recent_gold == [1, 0]
    assert row.score == pytest.approx(trust(gold_seen=2, gold_correct=1, consensus_seen=1, consensus_agreed=1))
    assert selectors.trust_score(user, "moderation") == pytest.approx(row.score)
    assert selectors.trust_score(user, "other") == 0.5  # per task type


@pytest.mark.django_db
def test_gold_accuracy_below_threshold_suspends_automatically_and_blocks_every_entry_point(
    make_contributor, make_campaign, settings, client
):
    settings.CONTRIBUTOR_SUSPEND_MIN_GOLD = 10
    settings.CONTRIBUTOR_SUSPEND_BELOW = 0.5
    campaign = make_campaign()
    user = make_contributor()
    for _ in range(4):
        services.record_gold_answer(user=user, task_type="moderation", correct=True)
    for _ in range(5):
        services.record_gold_answer(user=user, task_type="moderation", correct=False)
    assert ContributorProfile.objects.get(user=user).status == "active"  # 9 answers: too few to judge
    services.record_gold_answer(user=user, task_type="moderation", correct=False)  # 4/10 = 40 %
    profile = ContributorProfile.objects.get(user=user)
    assert profile.status == "suspended"
    assert "40%" in profile.status_reason and "10" in profile.status_reason
    change = StatusChange.objects.get(profile=profile)
    assert change.changed_by is None and change.to_status == "suspended"
    # No task from the queue service, the task API or the page; no qualification attempt either.
    from django.contrib.auth import get_user_model

    from workqueue.lease import NoWork, lease_next_item

    user = get_user_model().objects.get(pk=user.pk)  # as a request would load it
    assert isinstance(lease_next_item(user=user, campaign=campaign), NoWork)
    client.force_login(user)
    api = client.post(reverse("task-next", args=[campaign.pk]), content_type="application/json").json()
    assert api["assignment"] is None and api["code"] == "suspended" and "40%" in api["reason"]
    assert "labeler-config" not in client.get(reverse("label-campaign", args=[campaign.pk])).content.decode()
    assert "40%" in client.get(reverse("contributor-dashboard")).content.decode()
    # More wrong answers while suspended do not stack more status changes.
    services.record_gold_answer(user=user, task_type="moderation", correct=False)
    assert StatusChange.objects.filter(profile=profile).count() == 1
    # Staff reinstate: the window starts afresh, so one more mistake does not re-suspend at once.
    services.change_status(profile=profile, status="active", reason="", by=None)
    services.record_gold_answer(user=user, task_type="moderation", correct=False)
    assert ContributorProfile.objects.get(user=user).status == "active"
    assert TrustScore.objects.get(contributor=profile).recent_gold == [0]
    user = get_user_model().objects.get(pk=user.pk)
    assert lease_next_item(user=user, campaign=campaign).pk


@pytest.mark.django_db
def test_campaign_minimum_trust_locks_the_campaign_on_the_dashboard(make_contributor, make_campaign, client):
    campaign = make_campaign(min_trust=0.6)
    user = make_contributor()
    client.force_login(user)
    ctx = client.get(reverse("contributor-dashboard")).context
    assert [e["blocker"]["code"] for e in ctx["blocked_campaigns"]] == ["trust"]
    for _ in range(3):
        services.record_gold_answer(user=user, task_type="moderation", correct=True)
    ctx = client.get(reverse("contributor-dashboard")).context
    assert [e["campaign"] for e in ctx["campaigns"]] == [campaign]
