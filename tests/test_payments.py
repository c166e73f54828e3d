"""Payments (issue 25): the ledger, earning rules, budgets that stop the queue, payouts end to end, bad input.

Runs on PostgreSQL and SQLite; the concurrency proof is tests/test_payments_concurrency.py (PostgreSQL).
"""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

from annotations.models import Annotation
from consensus.engine import score_item_consensus
from contributors.models import Qualification
from core.schema import SchemaError
from organizations.access import PLATFORM_ROLE_GROUP_NAMES, PlatformRole
from payments import earnings, ledger, payouts
from payments.budgets import set_budget
from payments.checks import breaches
from payments.models import Account, Earning, LedgerTransaction, Payout, PayoutAccount
from tasks.models import Assignment, Campaign
from workqueue.lease import NoWork, lease_next_item
from workqueue.release import skip_assignment
from workqueue.submit import submit_annotation

Kind = Account.Kind
ANSWER = {"categories": ["safe"]}


def paid_campaign_factory(make_campaign):
    """What the ``paid_campaign`` fixture returns (other payments test modules make their fixture from it)."""
    def make(*, pay=1000, fee_bps=2000, budget=None, items=5, overlap=1):
        campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(items)], overlap=overlap,
                                 max_overlap=overlap, pay_per_task=pay, fee_bps=fee_bps)
        if budget is not None:
            set_budget(campaign=campaign, budget=budget)
            campaign.refresh_from_db()
        return campaign
    return make


@pytest.fixture
def paid_campaign(make_campaign):
    return paid_campaign_factory(make_campaign)


def work(user, campaign) -> Annotation | NoWork:
    got = lease_next_item(user=user, campaign=campaign, rng=random.Random(1))
    if isinstance(got, NoWork):
        return got
    return submit_annotation(user=user, assignment_id=got.pk, payload=ANSWER).annotation


def balance(kind, **owner) -> int:
    return Account.objects.filter(kind=kind, **{f"{k}_id": v for k, v in owner.items()}).values_list(
        "balance", flat=True).first() or 0


@pytest.mark.django_db
def test_accept_posts_pay_and_fee_once_and_release_makes_it_available(paid_campaign, make_contributor):
    campaign = paid_campaign(pay=1000, fee_bps=2000)
    user = make_contributor()
    answer = work(user, campaign)
    first = earnings.accept(annotation=answer, source=Earning.Source.CONSENSUS)
    again = earnings.accept(annotation=answer, source=Earning.Source.AUTO)  # a retried job, a second path
    assert again.pk == first.pk and first.pay == 1000 and first.fee == 200
    assert LedgerTransaction.objects.filter(kind="accept", annotation_id=answer.pk).count() == 1
    assert balance(Kind.PENDING, contributor=user.pk) == 1000
    assert balance(Kind.FEES) == 200
    assert balance(Kind.BUDGET, campaign=campaign.pk) == -1200  # no cap: billed afterwards
    assert earnings.release_due(now=timezone.now() + timedelta(hours=49)) == 1
    assert balance(Kind.PENDING, contributor=user.pk) == 0
    assert balance(Kind.AVAILABLE, contributor=user.pk) == 1000
    assert breaches() == []


@pytest.mark.django_db
def test_rejection_needs_a_reason_and_review_reversal_returns_the_money(paid_campaign, make_contributor):
    campaign = paid_campaign(pay=1000, fee_bps=1000, budget=100_000)
    user = make_contributor()
    a, b = work(user, campaign), work(user, campaign)
    assert Campaign.objects.get(pk=campaign.pk).budget_used == 2 * 1100
    with pytest.raises(SchemaError) as refused:
        earnings.reject(annotation=a, reason="  ", source=Earning.Source.REVIEW)
    assert refused.value.field == "reason"
    earnings.reject(annotation=a, reason="Sai nhãn", source=Earning.Source.REVIEW)
    earnings.accept(annotation=b, source=Earning.Source.CONSENSUS)
    assert Campaign.objects.get(pk=campaign.pk).budget_used == 1100  # the rejected answer's cost is free again
    earnings.on_review(annotation=b, accepted=False, reason="Overturned by the expert")
    assert Earning.objects.get(annotation_id=b.pk).state == Earning.State.REVERSED
    assert balance(Kind.PENDING, contributor=user.pk) == 0 and balance(Kind.FEES) == 0
    assert balance(Kind.BUDGET, campaign=campaign.pk) == 100_000
    assert Campaign.objects.get(pk=campaign.pk).budget_used == 0
    assert breaches() == []


@pytest.mark.django_db
def test_consensus_outcome_pays_agreeing_answers_and_rejects_the_others(paid_campaign, make_contributor):
    campaign = paid_campaign(pay=500, fee_bps=0, items=1, overlap=3)
    # New contributors' trust makes a 2-against-1 vote less than 0.7 confident: a lower threshold finalises it.
    Campaign.objects.filter(pk=campaign.pk).update(confidence_threshold=0.5)
    campaign.refresh_from_db()
    users = [make_contributor() for _ in range(3)]
    answers = []
    for user, label in zip(users, ["safe", "safe", "spam"], strict=True):
        lease = lease_next_item(user=user, campaign=campaign, rng=random.Random(1))
        answers.append(submit_annotation(user=user, assignment_id=lease.pk, payload={"categories": [label]}).annotation)
    consensus = score_item_consensus(answers[0].item_id)
    assert consensus.state == "finalised", consensus.confidence
    earnings.settle_items([answers[0].item_id])  # what the registered listener does on commit
    states = dict(Earning.objects.values_list("annotation_id", "state"))
    assert states[answers[0].pk] == states[answers[1].pk] == Earning.State.PENDING
    assert states[answers[2].pk] == Earning.State.REJECTED
    assert [balance(Kind.PENDING, contributor=u.pk) for u in users] == [500, 500, 0]
    assert breaches() == []


@pytest.mark.django_db
def test_budget_stops_the_queue_counting_open_leases_and_pauses_when_spent(paid_campaign, make_contributor):
    campaign = paid_campaign(pay=1000, fee_bps=0, budget=3000, items=10)
    users = [make_contributor() for _ in range(5)]
    leases = [lease_next_item(user=u, campaign=campaign, rng=random.Random(1)) for u in users]
    assert [isinstance(x, NoWork) for x in leases] == [False, False, False, True, True]
    assert leases[3].code == "budget"
    skip_assignment(assignment=leases[0])  # a skipped lease gives its cost back
    again = lease_next_item(user=users[3], campaign=campaign, rng=random.Random(1))
    assert not isinstance(again, NoWork)
    for lease in (leases[1], leases[2], again):
        answer = submit_annotation(user=lease.contributor, assignment_id=lease.pk, payload=ANSWER).annotation
        earnings.accept(annotation=answer, source=Earning.Source.AUTO)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED and campaign.budget_used == 3000
    assert balance(Kind.BUDGET, campaign=campaign.pk) == 0
    with pytest.raises(SchemaError) as lowered:
        set_budget(campaign=campaign, budget=2000)
    assert lowered.value.field == "budget"
    set_budget(campaign=campaign, budget=5000)  # a top-up reopens the campaign
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ACTIVE and balance(Kind.BUDGET, campaign=campaign.pk) == 2000
    assert breaches() == []


@pytest.mark.django_db
def test_expired_leases_give_their_cost_back(paid_campaign, make_contributor):
    from workqueue.expiry import reclaim_expired_leases

    campaign = paid_campaign(pay=1000, fee_bps=0, budget=1000)
    lease = lease_next_item(user=make_contributor(), campaign=campaign)
    Assignment.objects.filter(pk=lease.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert reclaim_expired_leases(campaign_id=campaign.pk) == 1
    assert Campaign.objects.get(pk=campaign.pk).budget_used == 0
    assert not isinstance(lease_next_item(user=make_contributor(), campaign=campaign), NoWork)


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [-5, 0, 10.5, "1,5", "abc", True, None])
def test_amounts_must_be_positive_whole_dong(amount):
    with pytest.raises(SchemaError) as refused:
        ledger.whole_dong(amount, "amount")
    assert refused.value.field == "amount"


@pytest.mark.django_db
def test_an_unbalanced_or_fractional_posting_writes_nothing(paid_campaign):
    campaign = paid_campaign()
    budget = ledger.account(Kind.BUDGET, campaign_id=campaign.pk)
    fees = ledger.platform(Kind.FEES)
    for legs in ([(budget, -100), (fees, 99)], [(budget, -1), (fees, 1.0)], [(budget, 100), (fees, -100)]):
        with pytest.raises(ledger.LedgerRefused):
            ledger.post(key="bad", kind="accept", legs=legs)  # the last one: fees below their floor
    assert not LedgerTransaction.objects.exists() and breaches() == []


def _verified(user, *, bank=True):
    profile = user.contributor
    profile.identity_verified_at = timezone.now()
    profile.save(update_fields=["identity_verified_at"])
    Qualification.objects.create(profile=profile, task_type="moderation")
    if bank:
        PayoutAccount.objects.create(contributor=user, bank_bin="970436", account_number="0011001234567",
                                     account_name="NGUYEN VAN A")
    return user


def _finance(make_contributor):
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_user(username="ke-toan", email="kt@example.com", password="x",
                                                 is_staff=True)
    group, _ = Group.objects.get_or_create(name=PLATFORM_ROLE_GROUP_NAMES[PlatformRole.FINANCE])
    staff.groups.add(group)
    return staff


def _earn(user, campaign, n):
    for _ in range(n):
        earnings.accept(annotation=work(user, campaign), source=Earning.Source.AUTO)
    earnings.release_due(now=timezone.now() + timedelta(days=30))


@pytest.mark.django_db
def test_payout_batch_end_to_end_with_tax_a_failure_and_an_idempotent_reimport(paid_campaign, make_contributor):
    campaign = paid_campaign(pay=1_000_000, fee_bps=1000, items=6)
    alice, bob = _verified(make_contributor()), _verified(make_contributor())
    _earn(alice, campaign, 3)
    _earn(bob, campaign, 2)
    finance = _finance(make_contributor)

    with pytest.raises(SchemaError) as too_much:
        payouts.request_payout(user=alice, amount=3_000_001)
    assert too_much.value.field == "amount"
    with pytest.raises(SchemaError) as too_little:
        payouts.request_payout(user=alice, amount=50_000)
    assert too_little.value.field == "amount"
    big = payouts.request_payout(user=alice, amount="2.500.000")
    assert (big.gross, big.tax, big.net) == (2_500_000, 250_000, 2_250_000)  # 10 % at 2,000,000 or more
    with pytest.raises(SchemaError) as twice:
        payouts.request_payout(user=alice, amount=200_000)
    assert twice.value.field == "amount"
    small = payouts.request_payout(user=bob, amount=1_500_000)
    assert small.tax == 0
    assert balance(Kind.AVAILABLE, contributor=alice.pk) == 500_000

    with pytest.raises(SchemaError):
        payouts.approve_batch(user=alice)  # not finance
    batch = payouts.approve_batch(user=finance)
    csv_text = payouts.bank_file(batch)
    assert csv_text.splitlines()[0] == ",".join(payouts.BANK_FILE_COLUMNS)
    assert f"{big.reference},970436,0011001234567,NGUYEN VAN A,2250000," in csv_text
    qr = payouts.vietqr_payload(Payout.objects.get(pk=big.pk))
    assert qr.startswith("000201010212") and "A000000727" in qr and "54072250000" in qr and "5802VN" in qr

    unknown = f"reference,status,amount\nPNOPE,paid,1\n{big.reference},paid,2250000\n".encode()
    with pytest.raises(SchemaError) as bad:
        payouts.import_bank_result(user=finance, batch=batch, content=unknown)
    assert bad.value.field == "line 2.reference"
    mismatched = f"reference,status,amount\n{big.reference},paid,2250001\n".encode()
    with pytest.raises(SchemaError) as bad:
        payouts.import_bank_result(user=finance, batch=batch, content=mismatched)
    assert bad.value.field == "line 2.amount"
    assert Payout.objects.filter(state="approved").count() == 2  # nothing applied half

    result = (f"reference,status,amount,reason\n{big.reference},paid,2250000,\n"
              f"{small.reference},failed,1500000,Sai số tài khoản\n").encode()
    first = payouts.import_bank_result(user=finance, batch=batch, content=result)
    again = payouts.import_bank_result(user=finance, batch=batch, content=result)
    assert again.pk == first.pk and (first.paid, first.failed) == (1, 1)
    assert balance(Kind.PAID_OUT, contributor=alice.pk) == 2_250_000
    assert balance(Kind.WITHHELD_TAX, contributor=alice.pk) == 250_000
    assert balance(Kind.IN_PAYOUT, contributor=alice.pk) == 0
    assert balance(Kind.AVAILABLE, contributor=bob.pk) == 2_000_000  # the failed transfer came back
    assert LedgerTransaction.objects.filter(kind__startswith="payout_").count() == 4
    assert breaches() == []
    call_command("ledger_check")


@pytest.mark.django_db
def test_payout_needs_level_four_and_an_account(paid_campaign, make_contributor):
    user = make_contributor()
    with pytest.raises(SchemaError) as refused:
        payouts.request_payout(user=user, amount=200_000)
    assert refused.value.field == "verification"
    _verified(user, bank=False)
    with pytest.raises(SchemaError) as refused:
        payouts.request_payout(user=user, amount=200_000)
    assert refused.value.field == "payout_account"


# --- the planted bugs: the checks must fail when posting is wrong -------------------------------

@pytest.mark.django_db
def test_ledger_check_catches_planted_bugs(paid_campaign, make_contributor, monkeypatch):
    from django.core.management.base import CommandError

    campaign = paid_campaign(pay=1000, fee_bps=0, budget=10_000)
    user = make_contributor()
    answer = work(user, campaign)
    earnings.accept(annotation=answer, source=Earning.Source.AUTO)
    assert breaches() == []

    # 1. a second payment of the same answer under another key (a retry that forgot its idempotency key)
    ledger.post(key="accept-again", kind="accept", annotation_id=answer.pk, campaign_id=campaign.pk, legs=[
        (ledger.account(Kind.BUDGET, campaign_id=campaign.pk), -1000),
        (ledger.account(Kind.PENDING, contributor_id=user.pk), 1000)])
    assert any("paid 2 time(s)" in b for b in breaches())
    assert any("pending account holds 2000, their pending earnings 1000" in b for b in breaches())
    with pytest.raises(CommandError):
        call_command("ledger_check")
    LedgerTransaction.objects.filter(key="accept-again").update(kind="top_up", annotation_id=None)
    Earning.objects.filter(annotation_id=answer.pk).update(pay=2000)  # the extra 1000 is this answer's now
    assert breaches() == []

    # 2. a cached balance written without its entry
    Account.objects.filter(kind=Kind.PENDING, contributor=user).update(balance=5)
    assert any("caches 5" in b for b in breaches())
    Account.objects.filter(kind=Kind.PENDING, contributor=user).update(balance=2000)

    # 3. a posting that does not balance, slipping past post()'s own guard
    from payments.models import Entry

    txn = LedgerTransaction.objects.get(key="accept-again")
    Entry.objects.create(transaction=txn, account=ledger.platform(Kind.FEES), amount=7)
    Account.objects.filter(kind=Kind.FEES).update(balance=7)
    assert any("sums to 7" in b for b in breaches())
    Entry.objects.filter(transaction=txn, amount=7).delete()
    Account.objects.filter(kind=Kind.FEES).update(balance=0)

    # 4. a lease that skipped the budget hold
    Campaign.objects.filter(pk=campaign.pk).update(budget_used=0)
    assert any("holds 0 of its budget" in b for b in breaches())
