"""The ledger's invariants, proved from the entries (``manage.py ledger_check``; exits 1 on any breach)."""
from __future__ import annotations

from django.db.models import Count, Q, Sum

from annotations.models import Annotation
from tasks.models import Assignment, Campaign

from .models import Account, Earning, Entry, LedgerTransaction

Kind = Account.Kind
_PAID = (Earning.State.PENDING, Earning.State.AVAILABLE)


def expected_budget_used(campaign: Campaign) -> int:
    """What a capped campaign's live leases and unrejected answers hold: the recount of ``budget_used``."""
    leases = Assignment.objects.filter(campaign=campaign, state=Assignment.State.LEASED).count()
    answers = Annotation.objects.filter(campaign=campaign).count()
    refused = Earning.objects.filter(campaign=campaign, state__in=(Earning.State.REJECTED,
                                                                   Earning.State.REVERSED)).count()
    return campaign.cost_per_task * (leases + answers - refused)


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
    for annotation_id, state, cost in (Earning.objects.annotate(cost=Sum("pay") + Sum("fee"))
                                       .values_list("annotation_id", "state", "cost")):
        if cost == 0:
            want_accept, want_reverse = 0, 0
        else:
            want_accept = 1 if state in (*_PAID, Earning.State.REVERSED) else 0
            want_reverse = 1 if state == Earning.State.REVERSED else 0
        got = (accepts.pop(annotation_id, 0), reversals.pop(annotation_id, 0))
        if got != (want_accept, want_reverse) and wrong < limit:
            wrong += 1
            found.append(f"answer {annotation_id} ({state}) was paid {got[0]} time(s) and reversed {got[1]}, "
                         f"expected {want_accept} and {want_reverse}")
    for annotation_id, n in list(accepts.items())[:limit]:
        found.append(f"answer {annotation_id} was paid {n} time(s) without an earning decision")

    for campaign in Campaign.objects.filter(budget__isnull=False).filter(
            Q(budget_used__gt=0) | Q(earnings__isnull=False)).distinct()[:10000]:
        if campaign.budget_used > campaign.budget:
            found.append(f"campaign {campaign.pk} holds {campaign.budget_used}, beyond its budget {campaign.budget}")
        expected = expected_budget_used(campaign)
        if campaign.budget_used != expected:
            found.append(f"campaign {campaign.pk} holds {campaign.budget_used} of its budget, its leases and "
                         f"answers {expected}")
    return found
