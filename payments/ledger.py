"""Posting to the ledger: the one place entries are written and cached balances move.

``post`` takes balanced legs (integer đồng, summing to zero), locks the accounts in id order (two postings never
deadlock), refuses a leg that would take a floored account below zero, and writes the transaction, its entries and
the balances together. A key already posted returns the first transaction: a retried job pays nothing twice.
"""
from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from core.schema import SchemaError
from tasks.models import Campaign

from .models import Account, Entry, LedgerTransaction

Kind = Account.Kind


class LedgerRefused(SchemaError):
    """A posting the ledger will not take; nothing of it was written."""


_GROUPED = re.compile(r"^\d{1,3}([.,]\d{3})+$")  # 2.000.000 or 2,000,000: how đồng are written


def whole_dong(value, field: str) -> int:
    """``value`` as a positive whole number of đồng, or a SchemaError naming ``field``."""
    if isinstance(value, str):
        text = value.strip()
        text = re.sub(r"[.,]", "", text) if _GROUPED.match(text) else text
        if not re.fullmatch(r"-?\d+", text):
            raise SchemaError(field, _("Enter a whole number of đồng (no decimals)."))
        value = int(text)
    elif isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise SchemaError(field, _("Enter a whole number of đồng."))
    elif value != int(value):
        raise SchemaError(field, _("Enter a whole number of đồng (no decimals)."))
    value = int(value)
    if value <= 0:
        raise SchemaError(field, _("The amount must be more than 0 đồng."))
    return value


def account(kind: str, *, contributor_id: int | None = None, campaign_id: int | None = None) -> Account:
    """The account (created on first use; concurrent first uses meet on the unique constraint)."""
    found = Account.objects.filter(kind=kind, contributor_id=contributor_id, campaign_id=campaign_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Account.objects.create(kind=kind, contributor_id=contributor_id, campaign_id=campaign_id)
    except IntegrityError:
        return Account.objects.get(kind=kind, contributor_id=contributor_id, campaign_id=campaign_id)


def platform(kind: str) -> Account:
    return account(kind)


def _floored(locked: list[Account]) -> set[int]:
    """The ids of the locked accounts that may not go below zero."""
    floored = {a.pk for a in locked if a.kind in Account.FLOORED}
    budgets = {a.campaign_id: a.pk for a in locked if a.kind == Kind.BUDGET}
    if budgets:
        capped = Campaign.objects.filter(pk__in=budgets, budget__isnull=False).values_list("pk", flat=True)
        floored |= {budgets[c] for c in capped}
    return floored


def post(*, key: str, kind: str, legs: list[tuple[Account, int]], campaign_id: int | None = None,
         annotation_id: int | None = None, payout=None, memo: str = "") -> LedgerTransaction:
    """Write one balanced transaction (or return the one already posted under ``key``)."""
    totals: dict[int, int] = defaultdict(int)
    for acct, amount in legs:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise LedgerRefused("amount", _("Amounts are whole numbers of đồng."))
        totals[acct.pk] += amount
    totals = {pk: amount for pk, amount in totals.items() if amount}
    if sum(totals.values()) != 0:
        raise LedgerRefused("amount", _("A transaction must balance (its entries sum to zero)."))
    if not totals:
        raise LedgerRefused("amount", _("A transaction moves some money."))
    with transaction.atomic():
        locked = list(Account.objects.select_for_update().filter(pk__in=totals).order_by("pk"))
        # Looked up after the locks: a concurrent posting of the same key has committed (or rolled back) by now.
        existing = LedgerTransaction.objects.filter(key=key).first()
        if existing is not None:
            return existing
        floored = _floored(locked)
        for acct in locked:
            if acct.pk in floored and acct.balance + totals[acct.pk] < 0:
                raise LedgerRefused("amount", _("Not enough money in %(account)s (%(balance)s đồng).") % {
                    "account": acct.get_kind_display(), "balance": acct.balance})
        txn = LedgerTransaction.objects.create(key=key, kind=kind, campaign_id=campaign_id,
                                               annotation_id=annotation_id, payout=payout, memo=memo[:300])
        Entry.objects.bulk_create(Entry(transaction=txn, account_id=pk, amount=amount)
                                  for pk, amount in totals.items())
        for pk, amount in totals.items():
            Account.objects.filter(pk=pk).update(balance=F("balance") + amount)
    return txn
