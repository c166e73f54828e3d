"""Earning rules: an answer is paid once accepted (consensus agreement, a gold pass, a reviewer, or no verdict
within the campaign's auto-accept delay), rejected with a reason, or reversed when a review overturns it within
the dispute window. The pay stays pending for the window, then becomes available (``release_due``).

Called by consensus (registered in apps.py: ``settle_items``), by review (``on_review``) and by the beat sweep
(``tasks.settle``), which catches whatever a lost call missed. Each decision is one transaction: the earning row,
its ledger posting and the budget's hold move together or not at all.
"""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from annotations.models import Annotation, Consensus
from audit.services import Action as AuditAction
from audit.services import record as audit
from core import events
from core.schema import SchemaError
from tasks.models import Campaign
from workqueue.counters import release_budget, reserve_budget

from . import bonuses, ledger
from .models import Account, Earning, EarningRule, LedgerTransaction

Kind = Account.Kind


def rule_for(campaign: Campaign) -> tuple[int, int]:
    """(auto-accept hours, dispute window hours) of the campaign."""
    rule = EarningRule.objects.filter(campaign=campaign).first()
    if rule is None:
        return settings.PAYMENTS_AUTO_ACCEPT_HOURS, settings.PAYMENTS_HOLD_HOURS
    return rule.auto_accept_hours, rule.hold_hours


def _split(campaign: Campaign) -> tuple[int, int]:
    pay = int(campaign.pay_per_task or 0)
    return pay, campaign.cost_per_task - pay


def ensure_funded(campaign: Campaign) -> None:
    """A capped campaign's ledger budget mirrors its cap: funding below the cap is topped up to it."""
    if campaign.budget is None:
        return
    funded = -sum(LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.TOP_UP, campaign=campaign,
                                                   entries__account__kind=Kind.FUNDING)
                  .values_list("entries__amount", flat=True))
    missing = int(campaign.budget) - funded
    if missing > 0:
        ledger.post(key=f"fund:{campaign.pk}:{int(campaign.budget)}", kind=LedgerTransaction.Kind.TOP_UP,
                    campaign_id=campaign.pk, memo=f"budget set to {int(campaign.budget)}",
                    legs=[(ledger.platform(Kind.FUNDING), -missing),
                          (ledger.account(Kind.BUDGET, campaign_id=campaign.pk), missing)])


def accept(*, annotation: Annotation, source: str, campaign: Campaign | None = None) -> Earning:
    """Accept one answer and post its pay (pending) and fee; returns the earning already decided, if any."""
    campaign = campaign or annotation.campaign
    pay, fee = _split(campaign)
    _auto, hold = rule_for(campaign)
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                earning = Earning.objects.create(
                    annotation_id=annotation.pk, contributor_id=annotation.contributor_id, campaign=campaign,
                    state=Earning.State.PENDING, source=source, pay=pay, fee=fee, decided_at=now,
                    available_at=now + timedelta(hours=hold))
        except IntegrityError:
            return Earning.objects.get(annotation_id=annotation.pk)
        _post_accept(earning, campaign)
        bonuses.on_accepted(earning, campaign)
    pause_if_spent(campaign)
    return earning


def _post_accept(earning: Earning, campaign: Campaign, *, key: str | None = None) -> None:
    """Post an acceptance; ``key`` differs from ``accept:<answer>`` only when a reversed answer is accepted again
    (a dispute overturned): ``accept:<answer>:<n>`` after its n-th reversal, still at most once each."""
    if earning.pay + earning.fee == 0:
        return
    ensure_funded(campaign)
    legs = [(ledger.account(Kind.BUDGET, campaign_id=campaign.pk), -(earning.pay + earning.fee))]
    if earning.pay:
        legs.append((ledger.account(Kind.PENDING, contributor_id=earning.contributor_id), earning.pay))
    if earning.fee:
        legs.append((ledger.platform(Kind.FEES), earning.fee))
    ledger.post(key=key or f"accept:{earning.annotation_id}", kind=LedgerTransaction.Kind.ACCEPT, legs=legs,
                campaign_id=campaign.pk, annotation_id=earning.annotation_id, memo=earning.source)


def reject(*, annotation: Annotation, reason: str, source: str) -> Earning:
    """Refuse to pay one answer, saying why; its cost goes back to the campaign's budget."""
    reason = (reason or "").strip()
    if not reason:
        raise SchemaError("reason", _("Say why the answer is rejected."))
    campaign = annotation.campaign
    with transaction.atomic():
        try:
            with transaction.atomic():
                earning = Earning.objects.create(
                    annotation_id=annotation.pk, contributor_id=annotation.contributor_id, campaign=campaign,
                    state=Earning.State.REJECTED, source=source, reason=reason[:500])
        except IntegrityError:
            return Earning.objects.get(annotation_id=annotation.pk)
        release_budget(campaign.pk)
    return earning


def reverse(*, annotation: Annotation, reason: str) -> Earning:
    """A review overturned an accepted answer: its pay and fee go back to the campaign's budget."""
    reason = (reason or "").strip()
    if not reason:
        raise SchemaError("reason", _("Say why the acceptance is reversed."))
    with transaction.atomic():
        earning = Earning.objects.select_for_update().get(annotation_id=annotation.pk)
        if earning.state not in (Earning.State.PENDING, Earning.State.AVAILABLE):
            return earning
        held = Kind.PENDING if earning.state == Earning.State.PENDING else Kind.AVAILABLE
        bonus = bonuses.reverse_answer_bonus(earning) if earning.bonus else 0
        back = earning.pay + bonus
        legs = [(ledger.account(Kind.BUDGET, campaign_id=earning.campaign_id), back + earning.fee)]
        if back:
            legs.append((ledger.account(held, contributor_id=earning.contributor_id), -back))
        if earning.fee:
            legs.append((ledger.platform(Kind.FEES), -earning.fee))
        if back + earning.fee:
            reversals = LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.REVERSE,
                                                         annotation_id=earning.annotation_id).count()
            key = f"reverse:{earning.annotation_id}" + (f":{reversals + 1}" if reversals else "")
            ledger.post(key=key, kind=LedgerTransaction.Kind.REVERSE, legs=legs,
                        campaign_id=earning.campaign_id, annotation_id=earning.annotation_id, memo=reason[:300])
        earning.state, earning.reason, earning.bonus = Earning.State.REVERSED, reason[:500], 0
        earning.save(update_fields=["state", "reason", "bonus"])
        release_budget(earning.campaign_id)
    return earning


def on_review(*, annotation: Annotation, accepted: bool, reason: str) -> Earning | None:
    """A reviewer's verdict, called by review.services.decide_review inside its transaction."""
    earning = Earning.objects.filter(annotation_id=annotation.pk).first()
    if accepted:
        if earning is None:
            return accept(annotation=annotation, source=Earning.Source.REVIEW)
        if earning.state in (Earning.State.REJECTED, Earning.State.REVERSED):
            # Overturned in the contributor's favour (a later review, a dispute): the answer takes its cost from
            # the budget again and is paid, once more than it was reversed.
            with transaction.atomic():
                locked = Earning.objects.select_for_update().get(pk=earning.pk)
                if locked.state not in (Earning.State.REJECTED, Earning.State.REVERSED):
                    return locked
                campaign = annotation.campaign
                if campaign.budget is not None and not reserve_budget(campaign.pk):
                    raise SchemaError("decision", _("The campaign's budget cannot cover this answer any more."))
                pay, fee = _split(campaign)
                _auto, hold = rule_for(campaign)
                now = timezone.now()
                locked.state, locked.source, locked.reason = Earning.State.PENDING, Earning.Source.REVIEW, ""
                locked.pay, locked.fee, locked.decided_at = pay, fee, now
                locked.available_at = now + timedelta(hours=hold)
                locked.save()
                reversals = LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.REVERSE,
                                                             annotation_id=locked.annotation_id).count()
                _post_accept(locked, campaign,
                             key=f"accept:{locked.annotation_id}:{reversals}" if reversals else None)
                bonuses.on_accepted(locked, campaign)
            pause_if_spent(campaign)
            return locked
        return earning
    reason = reason or _("Rejected by a reviewer.")
    if earning is None:
        return reject(annotation=annotation, reason=reason, source=Earning.Source.REVIEW)
    if earning.state in (Earning.State.PENDING, Earning.State.AVAILABLE):
        return reverse(annotation=annotation, reason=reason)
    return earning


def settle_items(item_ids) -> int:
    """Pay or reject the undecided answers of items whose consensus is final (the consensus engine calls this)."""
    decided = 0
    consensus = {c.item_id: c for c in Consensus.objects.filter(item_id__in=list(item_ids),
                                                                state=Consensus.State.FINALISED)}
    if not consensus:
        return 0
    answers = (Annotation.objects.filter(item_id__in=consensus).select_related("campaign")
               .filter(~Exists(Earning.objects.filter(annotation_id=OuterRef("pk")))).order_by("id"))
    for annotation in answers:
        campaign = annotation.campaign
        if annotation.is_gold:
            continue  # gold answers are settled by their own check (settle_gold)
        agreed = campaign.task.agrees_with_consensus(annotation.payload, consensus[annotation.item_id].result,
                                                     config=campaign.config)
        if agreed is None:
            continue  # not comparable: the auto-accept delay decides
        if agreed:
            accept(annotation=annotation, source=Earning.Source.CONSENSUS, campaign=campaign)
        else:
            reject(annotation=annotation, source=Earning.Source.CONSENSUS,
                   reason=_("Your answer disagreed with the other contributors' consensus."))
        decided += 1
    return decided


def settle_gold(*, limit: int = 5000) -> int:
    """Gold answers are decided by their check: a pass is paid, a miss is rejected."""
    answers = (Annotation.objects.filter(is_gold=True, gold_correct__isnull=False).select_related("campaign")
               .filter(~Exists(Earning.objects.filter(annotation_id=OuterRef("pk")))).order_by("id")[:limit])
    n = 0
    for annotation in answers:
        if annotation.gold_correct:
            accept(annotation=annotation, source=Earning.Source.GOLD)
        else:
            reject(annotation=annotation, source=Earning.Source.GOLD,
                   reason=_("Your answer to a control question was not the expected one."))
        n += 1
    return n


def auto_accept_due(*, now=None, limit: int = 5000) -> int:
    """Answers with no verdict after their campaign's auto-accept delay are accepted."""
    now = now or timezone.now()
    shortest = min([settings.PAYMENTS_AUTO_ACCEPT_HOURS,
                    *EarningRule.objects.values_list("auto_accept_hours", flat=True)])
    answers = (Annotation.objects.filter(created_at__lte=now - timedelta(hours=shortest))
               .filter(~Exists(Earning.objects.filter(annotation_id=OuterRef("pk"))))
               .select_related("campaign").order_by("id")[:limit])
    n = 0
    for annotation in answers:
        hours, _hold = rule_for(annotation.campaign)
        if annotation.created_at <= now - timedelta(hours=hours):
            accept(annotation=annotation, source=Earning.Source.AUTO)
            n += 1
    return n


def release_due(*, now=None, limit: int = 5000) -> int:
    """Pending pay past its dispute window becomes available."""
    now = now or timezone.now()
    n = 0
    for pk in list(Earning.objects.filter(state=Earning.State.PENDING, available_at__lte=now)
                   .values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            earning = Earning.objects.select_for_update().get(pk=pk)
            if earning.state != Earning.State.PENDING:
                continue
            due = earning.pay + earning.bonus  # the per-answer bonus is released with its answer
            if due:
                releases = LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.RELEASE,
                                                            annotation_id=earning.annotation_id).count()
                ledger.post(key=f"release:{earning.annotation_id}" + (f":{releases}" if releases else ""),
                            kind=LedgerTransaction.Kind.RELEASE,
                            annotation_id=earning.annotation_id, campaign_id=earning.campaign_id, legs=[
                                (ledger.account(Kind.PENDING, contributor_id=earning.contributor_id), -due),
                                (ledger.account(Kind.AVAILABLE, contributor_id=earning.contributor_id), due)])
            earning.state = Earning.State.AVAILABLE
            earning.save(update_fields=["state"])
            n += 1
    return n


def pause_if_spent(campaign: Campaign) -> None:
    """A capped campaign whose remaining budget cannot pay one more answer pauses itself and says so."""
    if campaign.budget is None or campaign.status != Campaign.Status.ACTIVE:
        return
    balance = Account.objects.filter(kind=Kind.BUDGET, campaign=campaign).values_list("balance", flat=True).first()
    if balance is not None and balance < max(campaign.cost_per_task, 1):
        if Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.ACTIVE).update(
                status=Campaign.Status.PAUSED):
            campaign.status = Campaign.Status.PAUSED
            audit(action=AuditAction.BUDGET_SPENT, organization=campaign.organization_id,
                  target=f"campaign {campaign.pk}", detail={"budget": int(campaign.budget), "left": balance})
            events.emit(events.BUDGET_EXHAUSTED, organization_id=campaign.organization_id, object_id=campaign.pk,
                        data={"campaign": campaign.pk, "budget": int(campaign.budget), "left": int(balance)})
