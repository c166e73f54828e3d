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
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        # One account per (kind, owner). An account has at most one owner (a contributor, a campaign, or neither:
        # the platform's), so three partial unique constraints say exactly what one ``nulls_distinct=False``
        # constraint said, and every backend enforces them (SQLite has no NULLS NOT DISTINCT: Django's W047).
        constraints = [
            models.UniqueConstraint(fields=["kind", "contributor"], condition=models.Q(contributor__isnull=False),
                                    name="uniq_contributor_account"),
            models.UniqueConstraint(fields=["kind", "campaign"], condition=models.Q(campaign__isnull=False),
                                    name="uniq_campaign_account"),
            models.UniqueConstraint(fields=["kind"], condition=models.Q(contributor__isnull=True,
                                                                         campaign__isnull=True),
                                    name="uniq_platform_account"),
            models.CheckConstraint(condition=models.Q(contributor__isnull=True) | models.Q(campaign__isnull=True),
                                   name="account_one_owner"),
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
        BONUS = "bonus", _("Bonus")

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    annotation_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    payout = models.ForeignKey("Payout", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    memo = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class Entry(models.Model):
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField()  # đồng; + into the account, - out of it

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
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

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")

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
    # The campaign's per-answer bonus posted with this answer (pending with its pay, released and reversed with it).
    bonus = models.BigIntegerField(default=0)
    reason = models.CharField(max_length=500, blank=True)
    decided_at = models.DateTimeField(default=timezone.now)
    available_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("earning")
        verbose_name_plural = _("earnings")
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
    # Mã số thuế cá nhân: 12 digits (the citizen ID number, which serves as the personal tax code since 2025),
    # 10 digits (an older code) or 10 + "-" + 3 (a branch suffix). Shown on the withholding certificate; seen by
    # the contributor and finance staff only (like the bank details on this row).
    tax_code = models.CharField(_("personal tax code"), max_length=14, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("payout account")
        verbose_name_plural = _("payout accounts")

    def __str__(self) -> str:
        return f"payout account of {self.contributor_id}"


class PayoutBatch(models.Model):
    class State(models.TextChoices):
        APPROVED = "approved", _("Approved, file ready")
        RECONCILED = "reconciled", _("Bank result imported")

    state = models.CharField(max_length=12, choices=State.choices, default=State.APPROVED)
    layout = models.CharField(_("bank file layout"), max_length=20, default="generic",
                              help_text=_("The column layout of the bank-transfer file (docs/payments.md)."))
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("payout batch")
        verbose_name_plural = _("payout batches")

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
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
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

    class Meta:
        verbose_name = _("bank result import")
        verbose_name_plural = _("bank result imports")

    def __str__(self) -> str:
        return f"bank result {self.sha256[:12]} for batch {self.batch_id}"


class BonusRule(models.Model):
    """A campaign's bonuses on top of the pay per answer, all charged to its budget.

    ``tiers`` is a list of ``{"min_trust": 0.9, "bonus_bps": 1000}``: a contributor whose trust for the campaign's
    task type reaches ``min_trust`` earns ``bonus_bps`` basis points of the pay of the answers accepted in a
    calendar month, once per month (the highest tier reached counts).
    """

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="bonus_rule")
    per_answer = models.PositiveIntegerField(_("bonus per accepted answer (đồng)"), default=0)
    milestone_every = models.PositiveIntegerField(
        _("milestone every N accepted answers"), default=0, help_text=_("0: no milestone bonus."))
    milestone_amount = models.PositiveIntegerField(_("milestone bonus (đồng)"), default=0)
    tiers = models.JSONField(_("quality tiers"), default=list, blank=True,
                             help_text=_('e.g. [{"min_trust": 0.8, "bonus_bps": 500}, {"min_trust": 0.9, '
                                         '"bonus_bps": 1000}]: a share of the month\'s accepted pay by trust.'))

    class Meta:
        verbose_name = _("bonus rule")
        verbose_name_plural = _("bonus rules")

    def __str__(self) -> str:
        return f"bonus rule of campaign {self.campaign_id}"

    def clean(self):
        from django.core.exceptions import ValidationError

        from core.schema import SchemaError

        from .bonuses import clean_tiers

        try:
            self.tiers = clean_tiers(self.tiers)
        except SchemaError as exc:
            raise ValidationError({"tiers": exc.message}) from None
        if bool(self.milestone_every) != bool(self.milestone_amount):
            raise ValidationError({"milestone_amount": _("Set both the milestone size and its bonus, or neither.")})


class Bonus(models.Model):
    """One bonus decision, keyed so that each answer, milestone, tier period or manager's grant pays at most once.

    A bonus the campaign's remaining budget cannot cover is kept as REFUSED with the reason (the manager sees it
    and may retry after a top-up); nothing is posted for it.
    """

    class Kind(models.TextChoices):
        ANSWER = "answer", _("Per-answer bonus")
        MILESTONE = "milestone", _("Milestone bonus")
        TIER = "tier", _("Quality-tier bonus")
        MANUAL = "manual", _("Manager's bonus")

    class State(models.TextChoices):
        PAID = "paid", _("Posted")
        REFUSED = "refused", _("Not posted: budget")
        REVERSED = "reversed", _("Reversed with its answer")

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="bonuses")
    contributor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bonuses")
    annotation_id = models.BigIntegerField(null=True, blank=True)
    amount = models.BigIntegerField()
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    refusal = models.CharField(_("why not posted"), max_length=300, blank=True)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("bonus")
        verbose_name_plural = _("bonuses")
        indexes = [models.Index(fields=["campaign", "state"], name="bonus_campaign_idx")]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="bonus_positive")]

    def __str__(self) -> str:
        return f"{self.kind} bonus {self.key}: {self.amount} ({self.state})"
