"""The ledger's invariants, proved from the entries (``manage.py ledger_check``; exits 1 on any breach)."""
from __future__ import annotations

from django.db.models import Count, Q, Sum

from annotations.models import Annotation
from tasks.models import Assignment, Campaign

from .models import Account, Earning, Entry, LedgerTransaction

Kind = Account.Kind
_PAID = (Earning.State.PENDING, Earning.State.AVAILABLE)


def expected_budget_used(campaign: Campaign) -> int:
    """What a capped campaign's live leases, unrejected answers and posted bonuses hold: the recount of
    ``budget_used``."""
    from .bonuses import bonus_hold

    leases = Assignment.objects.filter(campaign=campaign, state=Assignment.State.LEASED).count()
    answers = Annotation.objects.filter(campaign=campaign).count()
    refused = Earning.objects.filter(campaign=campaign, state__in=(Earning.State.REJECTED,
                                                                   Earning.State.REVERSED)).count()
    return campaign.cost_per_task * (leases + answers - refused) + bonus_hold(campaign)


def breaches(*, limit: int = 20) -> list[str]:
    """Every breach found, as a sentence (at most ``limit`` per invariant)."""
    found: list[str] = []
    unbalanced = (Entry.objects.values("transaction_id").annotate(total=Sum("amount")).exclude(total=0)
                  .values_list("transaction_id", "total")[:limit])
    found += [f"transaction {t} sums to {s}, not 0" for t, s in unbalanced]
    empty = LedgerTransaction.objects.filter(entries__isnull=True).values_list("pk", flat=True)[:limit]
    found += [f"transaction {t} has no entries" for t in empty]

    sums = dict(Entry.objects.values("account_id").annotate(total=Sum("amount")).values_list("account_id", "total"))
    capped = set(Campaign.objects.filter(budget__isnull=False).values_list("pk", flat=True))
    drift = floor = 0
    for pk, kind, campaign_id, balance in Account.objects.values_list("pk", "kind", "campaign_id", "balance"):
        real = sums.get(pk, 0)
        if real != balance and drift < limit:
            drift += 1
            found.append(f"account {pk} ({kind}) caches {balance}, its entries sum to {real}")
        floored = kind in Account.FLOORED or (kind == Kind.BUDGET and campaign_id in capped)
        if floored and real < 0 and floor < limit:
            floor += 1
            found.append(f"account {pk} ({kind}) is below its floor: {real}")

    accepts = dict(LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.ACCEPT)
                   .values("annotation_id").annotate(n=Count("id")).values_list("annotation_id", "n"))
    reversals = dict(LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.REVERSE)
                     .values("annotation_id").annotate(n=Count("id")).values_list("annotation_id", "n"))
    wrong = 0
    # Paid exactly once: an answer accepted (pending/available) has one acceptance more than reversals; a rejected
    # or reversed one as many acceptances as reversals (a dispute may accept a reversed answer again: a/r/a).
    for annotation_id, state, cost in (Earning.objects.annotate(cost=Sum("pay") + Sum("fee"))
                                       .values_list("annotation_id", "state", "cost")):
        got = (accepts.pop(annotation_id, 0), reversals.pop(annotation_id, 0))
        if cost == 0:
            ok = got == (0, 0)
        elif state in _PAID:
            ok = got[0] == got[1] + 1
        elif state == Earning.State.REVERSED:
            ok = got[0] == got[1] >= 1
        else:
            ok = got[0] == got[1]
        if not ok and wrong < limit:
            wrong += 1
            found.append(f"answer {annotation_id} ({state}) was paid {got[0]} time(s) and reversed {got[1]}")
    for annotation_id, n in list(accepts.items())[:limit]:
        found.append(f"answer {annotation_id} was paid {n} time(s) without an earning decision")

    # A contributor's pending account holds exactly the pay and per-answer bonus of their pending earnings.
    owed = dict(Earning.objects.filter(state=Earning.State.PENDING).values("contributor_id")
                .annotate(total=Sum("pay") + Sum("bonus")).values_list("contributor_id", "total"))
    pending = dict(Account.objects.filter(kind=Kind.PENDING).values_list("contributor_id", "balance"))
    odd = 0
    for contributor_id in sorted(set(owed) | set(pending)):
        want, got = int(owed.get(contributor_id) or 0), int(pending.get(contributor_id) or 0)
        if want != got and odd < limit:
            odd += 1
            found.append(f"contributor {contributor_id}'s pending account holds {got}, their pending earnings {want}")

    found += bonus_breaches(limit=limit)

    for campaign in Campaign.objects.filter(budget__isnull=False).filter(
            Q(budget_used__gt=0) | Q(earnings__isnull=False)).distinct()[:10000]:
        if campaign.budget_used > campaign.budget:
            found.append(f"campaign {campaign.pk} holds {campaign.budget_used}, beyond its budget {campaign.budget}")
        expected = expected_budget_used(campaign)
        if campaign.budget_used != expected:
            found.append(f"campaign {campaign.pk} holds {campaign.budget_used} of its budget, its leases and "
                         f"answers {expected}")
    return found


def bonus_breaches(*, limit: int = 20) -> list[str]:
    """Every bonus paid exactly once: a posted bonus has its one posting of its amount, a refused one none, a
    reversed one was posted; no bonus posting without its decision; no milestone beyond what was accepted."""
    from .models import Bonus, BonusRule

    found: list[str] = []
    postings = {}
    for key, amount in (Entry.objects.filter(transaction__kind=LedgerTransaction.Kind.BONUS, amount__lt=0)
                        .values_list("transaction__key", "amount")):
        postings.setdefault(key.removeprefix("bonus:"), []).append(-amount)
    for key, state, amount in Bonus.objects.values_list("key", "state", "amount"):
        got = postings.pop(key, [])
        want = [] if state == Bonus.State.REFUSED else [amount]
        if got != want and len(found) < limit:
            found.append(f"bonus {key} ({state}) posted {got}, expected {want}")
    for key, got in list(postings.items())[:limit]:
        found.append(f"bonus posting {key} ({got}) has no bonus decision")
    # a milestone k needs k * N accepted answers ever (reversals may lower the count later, never before)
    rules = dict(BonusRule.objects.filter(milestone_every__gt=0).values_list("campaign_id", "milestone_every"))
    ever = dict(((c, u), n) for c, u, n in Earning.objects.filter(campaign_id__in=rules)
                .exclude(state=Earning.State.REJECTED).values("campaign_id", "contributor_id")
                .annotate(n=Count("id")).values_list("campaign_id", "contributor_id", "n"))
    paid = (Bonus.objects.filter(kind=Bonus.Kind.MILESTONE).exclude(state=Bonus.State.REFUSED)
            .values("campaign_id", "contributor_id").annotate(n=Count("id"))
            .values_list("campaign_id", "contributor_id", "n"))
    for campaign_id, contributor_id, n in paid:
        every, accepted = rules.get(campaign_id), ever.get((campaign_id, contributor_id), 0)
        if every and n > accepted // every and len(found) < 2 * limit:
            found.append(f"contributor {contributor_id} got {n} milestone bonus(es) in campaign {campaign_id} for "
                         f"{accepted} accepted answers (one per {every})")
    return found
