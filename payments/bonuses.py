"""Bonuses: per accepted answer, per milestone (every N accepted answers in a campaign), by quality tier (trust,
once per calendar month) and a manager's one-off grant with a reason. Each is charged to the campaign's budget.

Exactly once: every bonus has a key (``answer:<answer>``, ``milestone:<campaign>:<contributor>:<k>``,
``tier:<campaign>:<contributor>:<YYYY-MM>``, ``manual:<campaign>:<form token>``); the ``Bonus`` row is unique on
it and its ledger posting is keyed ``bonus:<key>``, so a retried job or a second path pays nothing twice.

Budget cap: in a capped campaign a bonus takes its amount from the budget's hold (``Campaign.budget_used``) with the
same guarded UPDATE the queue uses (``budget_used + amount <= budget``); when it does not fit, the bonus is kept as
REFUSED with the reason and nothing is posted. ``retry_refused`` tries again after a top-up.

The per-answer bonus stays pending with its answer (released and reversed with it, ``Earning.bonus``); milestone,
tier and manual bonuses are available at once and are not clawed back if an answer is later reversed.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Action as AuditAction
from audit.services import record as audit
from core.schema import SchemaError
from organizations.access import Action, allows
from tasks.models import Campaign

from . import ledger
from .models import Account, Bonus, BonusRule, Earning, LedgerTransaction

Kind = Account.Kind
_CAMPAIGNS = Campaign._meta.db_table
_HOLD_SQL = (f"UPDATE {_CAMPAIGNS} SET budget_used = budget_used + %s"  # noqa: S608 (a model's table name)
             f" WHERE id = %s AND budget IS NOT NULL AND budget_used + %s <= budget")
_UNHOLD_SQL = f"UPDATE {_CAMPAIGNS} SET budget_used = budget_used - %s WHERE id = %s AND budget IS NOT NULL"  # noqa: S608
ACCEPTED = (Earning.State.PENDING, Earning.State.AVAILABLE)


def clean_tiers(tiers) -> list[dict]:
    """Quality tiers as stored: a list of {min_trust in [0, 1], bonus_bps in 1..10000}, lowest first."""
    if tiers in (None, ""):
        return []
    if not isinstance(tiers, list):
        raise SchemaError("tiers", _("Tiers are a list of {\"min_trust\": 0.9, \"bonus_bps\": 1000}."))
    out = []
    for i, tier in enumerate(tiers, start=1):
        if not isinstance(tier, dict) or set(tier) != {"min_trust", "bonus_bps"}:
            raise SchemaError(f"tiers[{i}]", _("Each tier has exactly min_trust and bonus_bps."))
        trust, bps = tier["min_trust"], tier["bonus_bps"]
        if isinstance(trust, bool) or not isinstance(trust, (int, float)) or not 0 <= trust <= 1:
            raise SchemaError(f"tiers[{i}].min_trust", _("min_trust is a number from 0 to 1."))
        if isinstance(bps, bool) or not isinstance(bps, int) or not 0 < bps <= 10000:
            raise SchemaError(f"tiers[{i}].bonus_bps", _("bonus_bps is a whole number from 1 to 10000."))
        out.append({"min_trust": float(trust), "bonus_bps": bps})
    out.sort(key=lambda t: t["min_trust"])
    if len({t["min_trust"] for t in out}) != len(out):
        raise SchemaError("tiers", _("Two tiers have the same min_trust."))
    return out


def _hold(campaign: Campaign, amount: int) -> bool:
    """Take ``amount`` into a capped campaign's hold if the budget covers it (always True without a cap)."""
    if campaign.budget is None:
        return True
    with connection.cursor() as cursor:
        cursor.execute(_HOLD_SQL, [amount, campaign.pk, amount])
        return cursor.rowcount == 1


def _unhold(campaign_id: int, amount: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_UNHOLD_SQL, [amount, campaign_id])


def grant(*, campaign: Campaign, contributor_id: int, kind: str, key: str, amount: int, reason: str = "",
          annotation_id: int | None = None, by=None, into: str = Kind.AVAILABLE) -> Bonus:
    """Post one bonus (or return the decision already taken under ``key``); REFUSED when the budget can't cover it."""
    from .earnings import pause_if_spent

    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise SchemaError("amount", _("A bonus is a whole number of đồng above 0."))
    existing = Bonus.objects.filter(key=key).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        covered = _hold(campaign, amount)
        try:
            with transaction.atomic():
                bonus = Bonus.objects.create(
                    key=key, kind=kind, campaign=campaign, contributor_id=contributor_id, annotation_id=annotation_id,
                    amount=amount, granted_by=by, reason=reason[:500],
                    state=Bonus.State.PAID if covered else Bonus.State.REFUSED)
        except IntegrityError:
            # the same bonus decided concurrently: give the hold back, return theirs
            if covered:
                _unhold(campaign.pk, amount)
            return Bonus.objects.get(key=key)
        if not covered:
            left = int(campaign.budget) - int(Campaign.objects.values_list("budget_used", flat=True).get(pk=campaign.pk))
            bonus.refusal = (_("The campaign's remaining budget (%(left)s đồng) cannot cover this bonus "
                               "(%(amount)s đồng). Top up the budget and retry.") % {"left": left, "amount": amount})[:300]
            bonus.save(update_fields=["refusal"])
            audit(action=AuditAction.BONUS_REFUSED, by=by, organization=campaign.organization_id,
                  target=f"campaign {campaign.pk}", detail={"key": key, "amount": amount, "left": left})
            return bonus
        _post(bonus, campaign, into)
    pause_if_spent(campaign)
    return bonus


def _post(bonus: Bonus, campaign: Campaign, into: str) -> None:
    from .earnings import ensure_funded

    ensure_funded(campaign)
    ledger.post(key=f"bonus:{bonus.key}", kind=LedgerTransaction.Kind.BONUS, campaign_id=campaign.pk,
                annotation_id=bonus.annotation_id, memo=f"{bonus.get_kind_display()}: {bonus.reason}"[:300],
                legs=[(ledger.account(Kind.BUDGET, campaign_id=campaign.pk), -bonus.amount),
                      (ledger.account(into, contributor_id=bonus.contributor_id), bonus.amount)])


def rule_of(campaign: Campaign) -> BonusRule | None:
    return BonusRule.objects.filter(campaign=campaign).first()


def on_accepted(earning: Earning, campaign: Campaign) -> None:
    """After an answer is accepted (inside its transaction): its per-answer bonus and any milestone reached."""
    rule = rule_of(campaign)
    if rule is None:
        return
    if rule.per_answer:
        bonus = grant(campaign=campaign, contributor_id=earning.contributor_id, kind=Bonus.Kind.ANSWER,
                      key=f"answer:{earning.annotation_id}", amount=int(rule.per_answer),
                      annotation_id=earning.annotation_id, into=Kind.PENDING)
        if bonus.state == Bonus.State.PAID and earning.bonus != bonus.amount and earning.state == Earning.State.PENDING:
            Earning.objects.filter(pk=earning.pk).update(bonus=bonus.amount)
            earning.bonus = bonus.amount
    if rule.milestone_every and rule.milestone_amount:
        settle_milestones(campaign=campaign, contributor_id=earning.contributor_id, rule=rule)


def settle_milestones(*, campaign: Campaign, contributor_id: int, rule: BonusRule) -> int:
    """A bonus for each full ``milestone_every`` accepted answers of the contributor in the campaign, once each."""
    accepted = Earning.objects.filter(campaign=campaign, contributor_id=contributor_id, state__in=ACCEPTED).count()
    reached = accepted // rule.milestone_every
    if not reached:
        return 0
    prefix = f"milestone:{campaign.pk}:{contributor_id}:"
    done = set(Bonus.objects.filter(key__startswith=prefix).values_list("key", flat=True))
    n = 0
    for k in range(1, reached + 1):
        if f"{prefix}{k}" in done:
            continue
        grant(campaign=campaign, contributor_id=contributor_id, kind=Bonus.Kind.MILESTONE, key=f"{prefix}{k}",
              amount=int(rule.milestone_amount),
              reason=_("%(n)s accepted answers") % {"n": k * rule.milestone_every})
        n += 1
    return n


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """A calendar month "YYYY-MM" as [start, end) in UTC."""
    try:
        year, month = (int(x) for x in period.split("-"))
        start = datetime(year, month, 1, tzinfo=UTC)
    except (ValueError, TypeError):
        raise SchemaError("period", _("A period is a month written YYYY-MM.")) from None
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def settle_tier_bonuses(*, campaign: Campaign, period: str) -> int:
    """Pay each contributor's quality-tier bonus for the month ``period`` (YYYY-MM) once; returns how many posted."""
    from contributors.models import TrustScore

    rule = rule_of(campaign)
    tiers = clean_tiers(rule.tiers) if rule else []
    if not tiers:
        return 0
    start, end = month_bounds(period)
    if end > timezone.now():
        raise SchemaError("period", _("The month is not over yet."))
    pay = dict(Earning.objects.filter(campaign=campaign, state__in=ACCEPTED, decided_at__gte=start,
                                      decided_at__lt=end).values("contributor_id").annotate(total=Sum("pay"))
               .values_list("contributor_id", "total"))
    trust = dict(TrustScore.objects.filter(contributor__user_id__in=pay, task_type=campaign.task_type)
                 .values_list("contributor__user_id", "score"))
    done = set(Bonus.objects.filter(key__startswith=f"tier:{campaign.pk}:", key__endswith=f":{period}")
               .values_list("key", flat=True))
    n = 0
    for contributor_id, total in sorted(pay.items()):
        if f"tier:{campaign.pk}:{contributor_id}:{period}" in done:
            continue
        reached = [t for t in tiers if trust.get(contributor_id, 0.0) >= t["min_trust"]]
        amount = int(total or 0) * reached[-1]["bonus_bps"] // 10000 if reached else 0
        if amount <= 0:
            continue
        bonus = grant(campaign=campaign, contributor_id=contributor_id, kind=Bonus.Kind.TIER,
                      key=f"tier:{campaign.pk}:{contributor_id}:{period}", amount=amount,
                      reason=_("Trust %(trust).2f ≥ %(min).2f in %(period)s") % {
                          "trust": trust.get(contributor_id, 0.0), "min": reached[-1]["min_trust"], "period": period})
        n += bonus.state == Bonus.State.PAID
    return n


def settle_last_month(*, now=None) -> int:
    """The beat's share: last month's tier bonuses of every campaign with tiers."""
    now = now or timezone.now()
    last = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    n = 0
    for rule in BonusRule.objects.exclude(tiers=[]).select_related("campaign"):
        n += settle_tier_bonuses(campaign=rule.campaign, period=last)
    return n


def grant_manual(*, campaign: Campaign, contributor, amount, reason: str, by, token: str) -> Bonus:
    """A manager's one-off bonus to a contributor who worked in the campaign; ``token`` (the form's) makes a
    double submit pay once. Audited."""
    from annotations.models import Annotation

    if not allows(by, Action.MANAGE_CAMPAIGNS, campaign.organization_id):
        raise SchemaError("campaign", _("Only the campaign's managers may grant a bonus."))
    value = ledger.whole_dong(amount, "amount")
    reason = " ".join((reason or "").split())
    if not reason:
        raise SchemaError("reason", _("Say why the bonus is granted (the contributor sees it)."))
    if not (token or "").strip():
        raise SchemaError("token", _("The form expired; open it again."))
    if not Annotation.objects.filter(campaign=campaign, contributor=contributor).exists():
        raise SchemaError("contributor", _("This contributor has not worked in this campaign."))
    bonus = grant(campaign=campaign, contributor_id=contributor.pk, kind=Bonus.Kind.MANUAL,
                  key=f"manual:{campaign.pk}:{token.strip()[:60]}", amount=value, reason=reason, by=by)
    audit(action=AuditAction.BONUS_GRANTED, by=by, organization=campaign.organization_id,
          target=f"campaign {campaign.pk}", detail={"bonus": bonus.pk, "contributor": contributor.pk,
                                                    "amount": value, "reason": reason, "state": bonus.state})
    return bonus


def retry_refused(*, campaign: Campaign, by=None) -> int:
    """After a top-up: post the campaign's refused bonuses that the budget now covers (oldest first)."""
    n = 0
    for pk in list(Bonus.objects.filter(campaign=campaign, state=Bonus.State.REFUSED).order_by("id")
                   .values_list("pk", flat=True)):
        with transaction.atomic():
            bonus = Bonus.objects.select_for_update().get(pk=pk)
            if bonus.state != Bonus.State.REFUSED or not _hold(campaign, bonus.amount):
                continue
            into = Kind.AVAILABLE
            if bonus.kind == Bonus.Kind.ANSWER:
                earning = Earning.objects.select_for_update().filter(annotation_id=bonus.annotation_id).first()
                if earning is None or earning.state not in ACCEPTED:
                    _unhold(campaign.pk, bonus.amount)
                    continue
                into = Kind.PENDING if earning.state == Earning.State.PENDING else Kind.AVAILABLE
                Earning.objects.filter(pk=earning.pk).update(bonus=bonus.amount)
            bonus.state, bonus.refusal = Bonus.State.PAID, ""
            bonus.save(update_fields=["state", "refusal"])
            _post(bonus, campaign, into)
            n += 1
    if n:
        audit(action=AuditAction.BONUS_GRANTED, by=by, organization=campaign.organization_id,
              target=f"campaign {campaign.pk}", detail={"retried": n})
    return n


def reverse_answer_bonus(earning: Earning) -> int:
    """The per-answer bonus of a reversed answer goes back with it (called inside ``earnings.reverse``); returns
    the amount to take back from the contributor's account alongside the pay."""
    bonus = Bonus.objects.select_for_update().filter(key=f"answer:{earning.annotation_id}",
                                                     state=Bonus.State.PAID).first()
    if bonus is None:
        return 0
    Bonus.objects.filter(pk=bonus.pk).update(state=Bonus.State.REVERSED)
    _unhold(earning.campaign_id, bonus.amount)
    return bonus.amount


def bonus_hold(campaign: Campaign) -> int:
    """What posted bonuses hold of the campaign's budget (part of ``checks.expected_budget_used``)."""
    return int(Bonus.objects.filter(campaign=campaign, state=Bonus.State.PAID).aggregate(s=Sum("amount"))["s"] or 0)
