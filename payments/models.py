"""The earnings ledger (double entry, integer đồng), earnings per answer, payouts and their bank batches.

Entries are immutable: a mistake is corrected by a new transaction, never by changing one. ``Account.balance`` is
a cache of the sum of the account's entries, written only by ``ledger.post`` in the same transaction;
``manage.py ledger_check`` proves it (and every other invariant) from the entries.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tasks.models import Campaign


class Account(models.Model):
    class Kind(models.TextChoices):
        # a contributor's
        PENDING = "pending", _("Pending")  # accepted, still in the dispute window
        AVAILABLE = "available", _("Available")  # may be paid out
        IN_PAYOUT = "in_payout", _("In payout")  # requested, until the bank says paid or failed
        PAID_OUT = "paid_out", _("Paid out")  # cumulative, net of tax
        WITHHELD_TAX = "withheld_tax", _("Withheld tax")  # cumulative personal income tax withheld
        # a campaign's
        BUDGET = "budget", _("Campaign budget")  # funded and not yet spent (spent: selectors.campaign_cost)
        # the platform's
        FEES = "fees", _("Platform fees")
        FUNDING = "funding", _("Customer funding")  # the counterpart of budget top-ups (negative-normal)

    CONTRIBUTOR_KINDS = (Kind.PENDING, Kind.AVAILABLE, Kind.IN_PAYOUT, Kind.PAID_OUT, Kind.WITHHELD_TAX)
    CAMPAIGN_KINDS = (Kind.BUDGET,)
    # Accounts whose balance may never go below zero; FUNDING runs negative by construction (what customers
    # paid in), BUDGET may only in a campaign without a budget cap (billed afterwards).
    FLOORED = (Kind.PENDING, Kind.AVAILABLE, Kind.IN_PAYOUT, Kind.PAID_OUT, Kind.WITHHELD_TAX, Kind.FEES)

    kind = models.CharField(max_length=16, choices=Kind.choices)
    contributor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="ledger_accounts")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="ledger_accounts")
    balance = models.BigIntegerField(default=0)  # cache of sum(entries.amount), written by ledger.post only

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "contributor", "campaign"], name="uniq_account",
                                    nulls_distinct=False),
        ]

    def __str__(self) -> str:
        owner = self.contributor_id and f"contributor {self.contributor_id}" or (
            self.campaign_id and f"campaign {self.campaign_id}" or "platform")
        return f"{owner}: {self.kind}"


class LedgerTransaction(models.Model):
    """One balanced posting; ``key`` makes a retry return the first posting instead of paying twice."""

    class Kind(models.TextChoices):
        TOP_UP = "top_up", _("Budget top-up")
        ACCEPT = "accept", _("Answer accepted")
        RELEASE = "release", _("Earning available")
        REVERSE = "reverse", _("Acceptance reversed")
        PAYOUT_REQUEST = "payout_request", _("Payout requested")
        PAYOUT_PAID = "payout_paid", _("Payout paid")
        PAYOUT_FAILED = "payout_failed", _("Payout failed")

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    annotation_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    payout = models.ForeignKey("Payout", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    memo = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class Entry(models.Model):
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField()  # đồng; + into the account, - out of it

    class Meta:
        indexes = [models.Index(fields=["account", "id"], name="entry_account_idx")]
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="entry_not_zero")]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount:+d}"


class EarningRule(models.Model):
    """How a campaign pays (its pay and fee are the campaign's ``pay_per_task`` and ``fee_bps``)."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="earning_rule")
    auto_accept_hours = models.PositiveIntegerField(
        _("auto-accept after (hours)"), default=72,
        help_text=_("An answer with no verdict by then is accepted."))
    hold_hours = models.PositiveIntegerField(
        _("dispute window (hours)"), default=48,
        help_text=_("An accepted answer's pay stays pending this long; a review may reverse it meanwhile."))

    def __str__(self) -> str:
        return f"earning rule of campaign {self.campaign_id}"


class Earning(models.Model):
    """The payment decision for one answer: at most one per answer (what 'paid exactly once' counts)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Accepted, pending")
        AVAILABLE = "available", _("Available")
        REJECTED = "rejected", _("Rejected")
        REVERSED = "reversed", _("Reversed")

    class Source(models.TextChoices):
        CONSENSUS = "consensus", _("Agreed with consensus")
        GOLD = "gold", _("Gold question")
        REVIEW = "review", _("Reviewer")
        AUTO = "auto", _("Auto-accepted")

    annotation_id = models.BigIntegerField(unique=True)
    contributor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="earnings")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="earnings")
    state = models.CharField(max_length=10, choices=State.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    pay = models.BigIntegerField(default=0)
    fee = models.BigIntegerField(default=0)
    reason = models.CharField(max_length=500, blank=True)
    decided_at = models.DateTimeField(default=timezone.now)
    available_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "available_at"], name="earning_due_idx"),
                   models.Index(fields=["contributor", "-decided_at"], name="earning_contributor_idx")]

    def __str__(self) -> str:
        return f"answer {self.annotation_id}: {self.state}"


class PayoutAccount(models.Model):
    """Where a contributor is paid: a bank account (NAPAS BIN) or an e-wallet. Never shown to customers."""

    contributor = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                       related_name="payout_account")
    bank_bin = models.CharField(_("bank BIN"), max_length=6)
    account_number = models.CharField(_("account number"), max_length=19)
    account_name = models.CharField(_("account holder"), max_length=100)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"payout account of {self.contributor_id}"


class PayoutBatch(models.Model):
    class State(models.TextChoices):
        APPROVED = "approved", _("Approved, file ready")
        RECONCILED = "reconciled", _("Bank result imported")

    state = models.CharField(max_length=12, choices=State.choices, default=State.APPROVED)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.state})"


class Payout(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved, in a bank batch")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed, returned to available")

    reference = models.CharField(max_length=20, unique=True)  # what the bank file and the result name
    contributor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts")
    gross = models.BigIntegerField()
    tax = models.BigIntegerField(default=0)
    net = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.REQUESTED)
    batch = models.ForeignKey(PayoutBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="payouts")
    # The destination at request time (the contributor may change theirs later).
    bank_bin = models.CharField(max_length=6)
    account_number = models.CharField(max_length=19)
    account_name = models.CharField(max_length=100)
    failure_reason = models.CharField(max_length=300, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # one open request per contributor: a double click or a second tab is refused by the database
            models.UniqueConstraint(fields=["contributor"], condition=models.Q(state="requested"),
                                    name="uniq_open_payout_request"),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.net} ({self.state})"


class BankResultImport(models.Model):
    """A bank result file already applied (its SHA-256): importing it again changes nothing."""

    sha256 = models.CharField(max_length=64, unique=True)
    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="imports")
    paid = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    imported_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"bank result {self.sha256[:12]} for batch {self.batch_id}"
