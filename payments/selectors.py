"""Read-only views of the ledger for pages: a contributor's statement and balances, a campaign's cost."""
from __future__ import annotations

import statistics
from collections import defaultdict

from django.db import connection
from django.db.models import Count, Q, Sum

from annotations.models import Annotation
from tasks.models import Campaign

from .models import Account, Bonus, Earning, Entry, Payout, PayoutAccount

Kind = Account.Kind


def balances(user) -> dict[str, int]:
    """The contributor's balance in each of their accounts (0 where none was opened yet)."""
    found = dict(Account.objects.filter(contributor=user).values_list("kind", "balance"))
    return {kind: int(found.get(kind, 0)) for kind in Account.CONTRIBUTOR_KINDS}


def statement(user, *, limit: int = 200) -> list[dict]:
    """The contributor's ledger entries, newest first, each with its campaign and answer."""
    rows = (Entry.objects.filter(account__contributor=user)
            .select_related("account", "transaction", "transaction__campaign", "transaction__payout")
            .order_by("-transaction__created_at", "-id")[:limit])
    return [{
        "at": e.transaction.created_at,
        "what": e.transaction.get_kind_display(),
        "kind": e.transaction.kind,
        "account": e.account.get_kind_display(),
        "account_kind": e.account.kind,
        "amount": e.amount,
        "campaign": e.transaction.campaign.name if e.transaction.campaign_id else "",
        "answer": e.transaction.annotation_id,
        "payout": e.transaction.payout.reference if e.transaction.payout_id else "",
        "memo": e.transaction.memo,
    } for e in rows]


def rejected(user, *, limit: int = 50):
    """The contributor's answers refused or reversed, with the reason (what a dispute starts from)."""
    return (Earning.objects.filter(contributor=user, state__in=[Earning.State.REJECTED, Earning.State.REVERSED])
            .select_related("campaign").order_by("-decided_at")[:limit])


def payouts_of(user, *, limit: int = 50):
    return Payout.objects.filter(contributor=user).order_by("-requested_at")[:limit]


def payout_account(user) -> PayoutAccount | None:
    return PayoutAccount.objects.filter(contributor=user).first()


def masked(number: str) -> str:
    """An account number with all but its last four digits hidden."""
    return "•" * max(len(number) - 4, 0) + number[-4:]


def campaign_costs(campaigns) -> list[dict]:
    """Per campaign: accepted answers, their pay and fees, posted bonuses (and how many the budget refused), cost per
    accepted answer, budget, held and left."""
    campaigns = list(campaigns)
    totals = {row["campaign_id"]: row for row in Earning.objects.filter(campaign__in=campaigns)
              .values("campaign_id").annotate(
                  accepted=Count("id", filter=Q(state__in=[Earning.State.PENDING, Earning.State.AVAILABLE])),
                  rejected=Count("id", filter=Q(state__in=[Earning.State.REJECTED, Earning.State.REVERSED])),
                  pay=Sum("pay", filter=Q(state__in=[Earning.State.PENDING, Earning.State.AVAILABLE])),
                  fee=Sum("fee", filter=Q(state__in=[Earning.State.PENDING, Earning.State.AVAILABLE])))}
    bonus_rows = {r["campaign_id"]: r for r in Bonus.objects.filter(campaign__in=campaigns).values("campaign_id")
                  .annotate(posted=Sum("amount", filter=Q(state=Bonus.State.PAID)),
                            refused=Count("id", filter=Q(state=Bonus.State.REFUSED)))}
    out = []
    for campaign in campaigns:
        row = totals.get(campaign.pk, {})
        accepted = row.get("accepted") or 0
        pay, fee = int(row.get("pay") or 0), int(row.get("fee") or 0)
        bonus = int((bonus_rows.get(campaign.pk) or {}).get("posted") or 0)
        spent = pay + fee + bonus
        budget = None if campaign.budget is None else int(campaign.budget)
        out.append({
            "campaign": campaign, "accepted": accepted, "rejected": row.get("rejected") or 0, "pay": pay, "fee": fee,
            "bonus": bonus, "bonus_refused": (bonus_rows.get(campaign.pk) or {}).get("refused") or 0,
            "spent": spent, "per_answer": round(spent / accepted) if accepted else None, "budget": budget,
            "committed": max(int(campaign.budget_used) - spent, 0) if budget is not None else None,
            "left": budget - int(campaign.budget_used) if budget is not None else None,
        })
    return out


def campaigns_for_costs(organization_ids) -> list[Campaign]:
    """The campaigns a manager's cost view lists (None: all, for superusers)."""
    qs = Campaign.objects.select_related("organization").order_by("-id")
    if organization_ids is not None:
        qs = qs.filter(organization_id__in=organization_ids)
    return list(qs)


ACCEPTED_STATES = (Earning.State.PENDING, Earning.State.AVAILABLE)
DECIDED_STATES = (Earning.State.PENDING, Earning.State.AVAILABLE, Earning.State.REJECTED, Earning.State.REVERSED)


def campaign_card_stats(campaign_ids) -> dict[int, dict]:
    """Per campaign, what a contributor sees before taking work: accepted and decided answers, the acceptance rate
    (accepted / decided, reversals count against) and the median time spent on an accepted answer (ms).

    One grouped statement for all the campaigns on a page (PostgreSQL: percentile_cont in the same GROUP BY; SQLite,
    used in development only, has no median aggregate: the same single join, the median taken here)."""
    ids = [int(i) for i in campaign_ids]
    if not ids:
        return {}
    earning, answer = Earning._meta.db_table, Annotation._meta.db_table
    accepted = ", ".join(f"'{s.value}'" for s in ACCEPTED_STATES)  # constants of the model, never user input
    decided = ", ".join(f"'{s.value}'" for s in DECIDED_STATES)
    marks = ", ".join(["%s"] * len(ids))
    out: dict[int, dict] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT e.campaign_id, COUNT(*) FILTER (WHERE e.state IN ({accepted})), "  # noqa: S608
                f"COUNT(*) FILTER (WHERE e.state IN ({decided})), "
                f"percentile_cont(0.5) WITHIN GROUP (ORDER BY a.time_spent_ms) FILTER (WHERE e.state IN ({accepted})) "
                f"FROM {earning} e LEFT JOIN {answer} a ON a.id = e.annotation_id "
                f"WHERE e.campaign_id IN ({marks}) GROUP BY e.campaign_id", ids)
            rows = [(cid, acc, dec, med) for cid, acc, dec, med in cursor.fetchall()]
        else:
            cursor.execute(
                f"SELECT e.campaign_id, e.state, a.time_spent_ms FROM {earning} e "  # noqa: S608
                f"LEFT JOIN {answer} a ON a.id = e.annotation_id WHERE e.campaign_id IN ({marks})", ids)
            times, counts = defaultdict(list), defaultdict(lambda: [0, 0])
            for cid, state, spent in cursor.fetchall():
                if state in ACCEPTED_STATES:
                    counts[cid][0] += 1
                    if spent is not None:
                        times[cid].append(spent)
                if state in DECIDED_STATES:
                    counts[cid][1] += 1
            rows = [(cid, acc, dec, statistics.median(times[cid]) if times[cid] else None)
                    for cid, (acc, dec) in counts.items()]
    for cid, acc, dec, med in rows:
        out[cid] = {"accepted": acc, "decided": dec,
                    "acceptance_rate": round(100 * acc / dec) if dec else None,
                    "median_ms": round(med) if med is not None else None}
    return out


def tax_years(user) -> list[int]:
    """The years in which the contributor was paid (a withholding certificate each), newest first."""
    return sorted({d.year for d in Payout.objects.filter(contributor=user, state=Payout.State.PAID)
                   .values_list("settled_at", flat=True) if d}, reverse=True)


def tax_certificate(user, year: int) -> dict:
    """The yearly withholding certificate: each payout the bank paid in ``year`` (gross, tax withheld, net) and the
    totals; the contributor by pseudonym and by the account holder's name stored with the payouts."""
    paid = list(Payout.objects.filter(contributor=user, state=Payout.State.PAID, settled_at__year=year)
                .order_by("settled_at", "id"))
    profile = getattr(user, "contributor", None)
    names = list(dict.fromkeys(p.account_name for p in paid if p.account_name))
    return {
        "year": year, "payouts": paid, "pseudonym": profile.pseudonym if profile else "",
        "legal_names": names,
        "tax_code": PayoutAccount.objects.filter(contributor=user).values_list("tax_code", flat=True).first() or "",
        "gross": sum(p.gross for p in paid), "tax": sum(p.tax for p in paid), "net": sum(p.net for p in paid),
    }
