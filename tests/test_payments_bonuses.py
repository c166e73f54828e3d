"""Bonuses (issue 25): per answer, per milestone, by quality tier, a manager's one-off; exactly once each, charged
to the campaign's budget within its cap, on the contributor's statement; planted bugs the checks must catch."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from contributors.models import TrustScore
from core.schema import SchemaError
from organizations.models import Membership
from payments import bonuses, earnings, selectors
from payments.budgets import set_budget
from payments.checks import breaches
from payments.models import Account, Bonus, BonusRule, Earning, LedgerTransaction
from review.roles import sync_role_groups
from tasks.models import Campaign
from tests.test_payments import balance, paid_campaign_factory, work

Kind = Account.Kind


@pytest.fixture
def paid_campaign(make_campaign):
    return paid_campaign_factory(make_campaign)


def _client_for(user) -> Client:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def _accept(user, campaign, n):
    out = []
    for _ in range(n):
        answer = work(user, campaign)
        earnings.accept(annotation=answer, source=Earning.Source.AUTO)
        out.append(answer)
    return out


@pytest.mark.django_db
def test_per_answer_and_milestone_bonuses_are_paid_once_and_follow_the_answer(paid_campaign, make_contributor):
    campaign = paid_campaign(pay=1000, fee_bps=0, items=6)
    BonusRule.objects.create(campaign=campaign, per_answer=100, milestone_every=2, milestone_amount=500)
    user = make_contributor()
    answers = _accept(user, campaign, 5)
    # retries through every path: nothing more is paid
    earnings.accept(annotation=answers[0], source=Earning.Source.CONSENSUS)
    bonuses.on_accepted(Earning.objects.get(annotation_id=answers[1].pk), campaign)
    bonuses.settle_milestones(campaign=campaign, contributor_id=user.pk, rule=campaign.bonus_rule)
    kinds = sorted(Bonus.objects.values_list("kind", flat=True))
    assert kinds == ["answer"] * 5 + ["milestone"] * 2
    assert LedgerTransaction.objects.filter(kind="bonus").count() == 7
    assert balance(Kind.PENDING, contributor=user.pk) == 5 * 1100  # the answer bonus waits with its answer
    assert balance(Kind.AVAILABLE, contributor=user.pk) == 1000  # two milestones
    assert balance(Kind.BUDGET, campaign=campaign.pk) == -(5 * 1100 + 1000)
    assert breaches() == []

    earnings.on_review(annotation=answers[4], accepted=False, reason="Sai nhãn")  # reversed with its bonus
    assert Bonus.objects.get(key=f"answer:{answers[4].pk}").state == Bonus.State.REVERSED
    assert balance(Kind.PENDING, contributor=user.pk) == 4 * 1100
    assert earnings.release_due(now=timezone.now() + timedelta(days=3)) == 4
    assert balance(Kind.AVAILABLE, contributor=user.pk) == 1000 + 4 * 1100
    assert breaches() == []

    # the contributor's statement lists the bonuses with what they are for
    client = Client()
    client.force_login(user)
    html = client.get("/me/earnings/").content.decode()
    assert html.count('data-kind="bonus"') == 7 and "4 accepted answers" in html


@pytest.mark.django_db
def test_a_bonus_the_budget_cannot_cover_is_not_posted_and_says_why(paid_campaign, make_contributor):
    campaign = paid_campaign(pay=1000, fee_bps=0, budget=2200, items=4)
    BonusRule.objects.create(campaign=campaign, per_answer=150)
    user = make_contributor()
    first, second = work(user, campaign), work(user, campaign)  # both leases hold 2000 of 2200
    earnings.accept(annotation=first, source=Earning.Source.AUTO)
    earnings.accept(annotation=second, source=Earning.Source.AUTO)
    paid, refused = Bonus.objects.get(annotation_id=first.pk), Bonus.objects.get(annotation_id=second.pk)
    assert paid.state == Bonus.State.PAID
    assert refused.state == Bonus.State.REFUSED and "50 đồng" in refused.refusal and "150 đồng" in refused.refusal
    assert not LedgerTransaction.objects.filter(key=f"bonus:{refused.key}").exists()
    campaign.refresh_from_db()
    assert campaign.budget_used == 2150 and campaign.status == Campaign.Status.PAUSED
    assert AuditEvent.objects.filter(action="bonus.refused").count() == 1
    [cost] = selectors.campaign_costs([campaign])  # the manager's cost view
    assert (cost["bonus"], cost["bonus_refused"], cost["spent"], cost["left"]) == (150, 1, 2150, 50)
    assert breaches() == []

    set_budget(campaign=campaign, budget=5000)
    assert bonuses.retry_refused(campaign=Campaign.objects.get(pk=campaign.pk)) == 1
    assert bonuses.retry_refused(campaign=Campaign.objects.get(pk=campaign.pk)) == 0
    assert Bonus.objects.get(pk=refused.pk).state == Bonus.State.PAID
    assert Earning.objects.get(annotation_id=second.pk).bonus == 150
    assert balance(Kind.PENDING, contributor=user.pk) == 2 * 1150
    assert Campaign.objects.get(pk=campaign.pk).budget_used == 2300
    assert breaches() == []


@pytest.mark.django_db
def test_quality_tier_bonus_once_per_month_by_trust(paid_campaign, make_contributor):
    campaign = paid_campaign(pay=1000, fee_bps=0, items=6)
    rule = BonusRule(campaign=campaign, tiers=[{"min_trust": 0.9, "bonus_bps": 1000},
                                               {"min_trust": 0.8, "bonus_bps": 500}])
    rule.full_clean()
    rule.save()
    expert, novice, middle = make_contributor(), make_contributor(), make_contributor()
    for user, trust in ((expert, 0.95), (novice, 0.5), (middle, 0.85)):
        TrustScore.objects.create(contributor=user.contributor, task_type="moderation", score=trust)
        _accept(user, campaign, 2)
    last_month = (timezone.now().replace(day=1) - timedelta(days=1))
    Earning.objects.update(decided_at=last_month)
    period = last_month.strftime("%Y-%m")
    assert bonuses.settle_tier_bonuses(campaign=campaign, period=period) == 2
    assert bonuses.settle_tier_bonuses(campaign=campaign, period=period) == 0  # once per month
    assert bonuses.settle_last_month() == 0
    amounts = dict(Bonus.objects.filter(kind="tier").values_list("contributor_id", "amount"))
    assert amounts == {expert.pk: 200, middle.pk: 100}  # 10 % and 5 % of 2,000 đồng
    assert breaches() == []
    with pytest.raises(SchemaError) as early:
        bonuses.settle_tier_bonuses(campaign=campaign, period=timezone.now().strftime("%Y-%m"))
    assert early.value.field == "period"
    with pytest.raises(SchemaError) as bad:
        bonuses.settle_tier_bonuses(campaign=campaign, period="2026-13")
    assert bad.value.field == "period"


@pytest.mark.parametrize("tiers, field", [
    ({"min_trust": 0.9}, "tiers"),
    ([{"min_trust": 1.5, "bonus_bps": 100}], "tiers[1].min_trust"),
    ([{"min_trust": 0.5, "bonus_bps": 0}], "tiers[1].bonus_bps"),
    ([{"min_trust": 0.5, "bonus_bps": 10.5}], "tiers[1].bonus_bps"),
    ([{"min_trust": 0.5, "bonus_bps": 100}, {"min_trust": 0.5, "bonus_bps": 200}], "tiers"),
    ([{"min_trust": 0.5, "bonus": 100}], "tiers[1]"),
])
def test_bad_tiers_are_refused_naming_the_field(tiers, field):
    with pytest.raises(SchemaError) as refused:
        bonuses.clean_tiers(tiers)
    assert refused.value.field == field


@pytest.mark.django_db
def test_manual_bonus_by_a_manager_with_a_reason_audited_once_per_form(paid_campaign, make_contributor, other_org):
    sync_role_groups()
    campaign = paid_campaign(pay=1000, fee_bps=0, budget=10_000, items=3)
    worker, stranger = make_contributor(), make_contributor()
    _accept(worker, campaign, 1)
    manager, outsider = make_contributor("pm@lab.example"), make_contributor("pm@other.example")
    Membership.objects.create(organization=campaign.organization, user=manager, role=Membership.Role.MANAGER)
    Membership.objects.create(organization=other_org, user=outsider, role=Membership.Role.MANAGER)
    for by, who, amount, reason, field in [
        (outsider, worker, 500, "Tốt lắm", "campaign"),
        (manager, worker, 500, "   ", "reason"),
        (manager, worker, "12.5", "Tốt", "amount"),
        (manager, worker, -3, "Tốt", "amount"),
        (manager, stranger, 500, "Tốt", "contributor"),
    ]:
        with pytest.raises(SchemaError) as refused:
            bonuses.grant_manual(campaign=campaign, contributor=who, amount=amount, reason=reason, by=by, token="t1")
        assert refused.value.field == field
    assert not Bonus.objects.filter(kind="manual").exists()

    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(manager)
    form = client.get("/admin/payments/bonus/add/")
    assert form.status_code == 200 and "grant-bonus" in form.content.decode()
    post = {"campaign": campaign.pk, "pseudonym": worker.contributor.pseudonym, "amount": "2.000",
            "reason": "Trả lời kỹ trong đợt gấp", "token": "form-123"}
    assert client.post("/admin/payments/bonus/add/", post).status_code == 302
    assert client.post("/admin/payments/bonus/add/", post).status_code == 302  # a double submit
    manual = Bonus.objects.get(kind="manual")
    assert (manual.amount, manual.granted_by_id, manual.reason) == (2000, manager.pk, "Trả lời kỹ trong đợt gấp")
    assert balance(Kind.AVAILABLE, contributor=worker.pk) == 2000
    assert AuditEvent.objects.filter(action="bonus.granted", actor=manager).count() == 2  # both attempts audited
    listing = client.get("/admin/payments/bonus/").content.decode()
    assert "Trả lời kỹ" in listing and worker.contributor.pseudonym in listing and worker.email not in listing

    # the manager sets the campaign's bonus rule; bad tiers are refused naming the field
    bad = client.post("/admin/payments/bonusrule/add/", {"campaign": campaign.pk, "per_answer": 100,
                                                        "milestone_every": 0, "milestone_amount": 0,
                                                        "tiers": '[{"min_trust": 2, "bonus_bps": 100}]'})
    assert bad.status_code == 200 and "min_trust is a number from 0 to 1" in bad.content.decode()
    good = client.post("/admin/payments/bonusrule/add/", {"campaign": campaign.pk, "per_answer": 100,
                                                         "milestone_every": 10, "milestone_amount": 5000,
                                                         "tiers": '[{"min_trust": 0.9, "bonus_bps": 1000}]'})
    assert good.status_code == 302
    assert BonusRule.objects.get(campaign=campaign).tiers == [{"min_trust": 0.9, "bonus_bps": 1000}]
    other = _client_for(outsider)
    assert other.get(f"/admin/payments/bonusrule/{campaign.bonus_rule.pk}/change/").status_code in (302, 403, 404)
    assert breaches() == []


# --- planted bugs: the bonus rules wrong, the checks must say so --------------------------------------------

@pytest.mark.django_db
def test_planted_bug_a_milestone_paid_twice_is_caught(paid_campaign, make_contributor, monkeypatch):
    campaign = paid_campaign(pay=1000, fee_bps=0, items=4)
    BonusRule.objects.create(campaign=campaign, milestone_every=2, milestone_amount=500)
    user = make_contributor()
    original = bonuses.grant

    def forgetful(**kwargs):  # the bug: a milestone keyed by time, so a retry is a new bonus
        if kwargs["kind"] == Bonus.Kind.MILESTONE:
            kwargs["key"] += f":{timezone.now().timestamp()}"
        return original(**kwargs)

    monkeypatch.setattr(bonuses, "grant", forgetful)
    _accept(user, campaign, 3)  # the 3rd acceptance pays milestone 1 again
    assert Bonus.objects.filter(kind="milestone").count() == 2
    assert any("milestone bonus(es)" in b for b in breaches())


@pytest.mark.django_db
def test_planted_bug_a_bonus_not_charged_to_the_budget_hold_is_caught(paid_campaign, make_contributor, monkeypatch):
    campaign = paid_campaign(pay=1000, fee_bps=0, budget=10_000, items=2)
    BonusRule.objects.create(campaign=campaign, per_answer=100)
    monkeypatch.setattr(bonuses, "_hold", lambda campaign, amount: True)  # the bug: no hold taken
    _accept(make_contributor(), campaign, 1)
    assert any("holds 1000 of its budget" in b for b in breaches())


@pytest.mark.django_db
def test_planted_bugs_an_answer_bonus_of_the_wrong_amount_or_kept_after_its_reversal_are_caught(paid_campaign, make_contributor,
                                                                       monkeypatch):
    campaign = paid_campaign(pay=1000, fee_bps=0, items=2)
    BonusRule.objects.create(campaign=campaign, per_answer=100)
    user = make_contributor()
    [answer] = _accept(user, campaign, 1)
    Bonus.objects.update(amount=90)  # another bug: the decision says 90, the ledger paid 100
    assert any("posted [100], expected [90]" in b for b in breaches())
    Bonus.objects.update(amount=100)
    monkeypatch.setattr(bonuses, "reverse_answer_bonus", lambda earning: 0)  # the bug: the bonus stays
    earnings.reverse(annotation=answer, reason="Sai")
    assert any("pending account holds 100, their pending earnings 0" in b for b in breaches())
