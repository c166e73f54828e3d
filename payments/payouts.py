"""Payouts: a verified contributor (level 4, a payout account on file) asks for money above the minimum; finance
staff approve requests in a batch; the batch becomes a bank-transfer CSV and VietQR payloads; the bank's result
file marks each transfer paid or failed (a failure returns the money to available). Personal income tax is
withheld at request time (Circular 111/2013/TT-BTC: 10 % of a payment of 2,000,000 đồng or more to an individual
without a labour contract; rate and threshold in settings).
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Action as AuditAction
from audit.services import record as audit
from contributors.selectors import verification_level
from core.schema import SchemaError
from organizations.access import Action, allows

from . import ledger
from .models import Account, BankResultImport, LedgerTransaction, Payout, PayoutAccount, PayoutBatch

Kind = Account.Kind


def withheld_tax(gross: int) -> int:
    """Personal income tax withheld from one payment (whole đồng, rounded down)."""
    if gross < settings.PAYMENTS_TAX_THRESHOLD:
        return 0
    return gross * settings.PAYMENTS_TAX_RATE_BPS // 10000


def request_payout(*, user, amount) -> Payout:
    """Move ``amount`` from available to in-payout and queue it for finance; refused with the field named."""
    gross = ledger.whole_dong(amount, "amount")
    if verification_level(user) < 4:
        raise SchemaError("verification", _("Verify your identity (level 4) before asking for a payout."))
    destination = PayoutAccount.objects.filter(contributor=user).first()
    if destination is None:
        raise SchemaError("payout_account", _("Add a bank account or e-wallet first."))
    if gross < settings.PAYMENTS_MIN_PAYOUT:
        raise SchemaError("amount", _("The minimum payout is %(min)s đồng.") % {"min": settings.PAYMENTS_MIN_PAYOUT})
    tax = withheld_tax(gross)
    try:
        with transaction.atomic():
            payout = Payout.objects.create(
                reference=f"P{secrets.token_hex(6).upper()}", contributor=user, gross=gross, tax=tax, net=gross - tax,
                bank_bin=destination.bank_bin, account_number=destination.account_number,
                account_name=destination.account_name)
            ledger.post(key=f"payout:{payout.reference}:request", kind=LedgerTransaction.Kind.PAYOUT_REQUEST,
                        payout=payout, legs=[(ledger.account(Kind.AVAILABLE, contributor_id=user.pk), -gross),
                                             (ledger.account(Kind.IN_PAYOUT, contributor_id=user.pk), gross)])
    except IntegrityError:
        raise SchemaError("amount", _("You already have a payout request waiting for approval.")) from None
    except ledger.LedgerRefused:
        raise SchemaError("amount", _("The amount is more than your available balance.")) from None
    return payout


def _require_finance(user) -> None:
    if not allows(user, Action.FINANCE):
        raise SchemaError("user", _("Only finance staff may do this."))


def approve_batch(*, user, payout_ids=None) -> PayoutBatch:
    """Put requested payouts (all, or those named) into one bank batch."""
    _require_finance(user)
    with transaction.atomic():
        requested = Payout.objects.select_for_update().filter(state=Payout.State.REQUESTED)
        if payout_ids is not None:
            requested = requested.filter(pk__in=list(payout_ids))
        requested = list(requested.order_by("id"))
        if not requested:
            raise SchemaError("payouts", _("No payout requests to approve."))
        batch = PayoutBatch.objects.create(approved_by=user)
        Payout.objects.filter(pk__in=[p.pk for p in requested]).update(state=Payout.State.APPROVED, batch=batch)
        audit(action=AuditAction.PAYOUT_BATCH_APPROVED, by=user, target=f"batch {batch.pk}",
              detail={"payouts": len(requested), "net": sum(p.net for p in requested)})
    return batch


BANK_FILE_COLUMNS = ("reference", "bank_bin", "account_number", "account_name", "amount", "description")


def bank_file(batch: PayoutBatch) -> str:
    """The batch as the bank-transfer CSV (docs/payments.md: one row per transfer, amount net of tax)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(BANK_FILE_COLUMNS)
    for p in batch.payouts.order_by("id"):
        writer.writerow((p.reference, p.bank_bin, p.account_number, p.account_name, p.net, f"ANNOT {p.reference}"))
    return out.getvalue()


def _tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def _crc16(data: str) -> str:
    crc = 0xFFFF
    for byte in data.encode():
        crc ^= byte << 8
        for _bit in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def vietqr_payload(payout: Payout) -> str:
    """The VietQR (NAPAS, EMVCo) string for one transfer: bank BIN, account, amount and the reference."""
    beneficiary = _tlv("00", payout.bank_bin) + _tlv("01", payout.account_number)
    merchant = _tlv("00", "A000000727") + _tlv("01", beneficiary) + _tlv("02", "QRIBFTTA")
    body = (_tlv("00", "01") + _tlv("01", "12") + _tlv("38", merchant) + _tlv("53", "704")
            + _tlv("54", str(payout.net)) + _tlv("58", "VN") + _tlv("62", _tlv("08", f"ANNOT {payout.reference}")))
    body += "6304"
    return body + _crc16(body)


def import_bank_result(*, user, batch: PayoutBatch, content: bytes) -> BankResultImport:
    """Apply the bank's result CSV (reference, status paid|failed, amount[, reason]) to the batch, all or nothing.

    Unknown references, amounts that differ from the transfer, or statuses other than paid/failed refuse the whole
    file naming the line; the same file again returns the first import.
    """
    _require_finance(user)
    digest = hashlib.sha256(content).hexdigest()
    previous = BankResultImport.objects.filter(sha256=digest).first()
    if previous is not None:
        return previous
    try:
        rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    except UnicodeDecodeError:
        raise SchemaError("file", _("The result file must be UTF-8 CSV.")) from None
    with transaction.atomic():
        payouts = {p.reference: p for p in Payout.objects.select_for_update().filter(batch=batch)}
        outcomes = []
        for line, row in enumerate(rows, start=2):
            reference = (row.get("reference") or "").strip()
            status = (row.get("status") or "").strip().lower()
            payout = payouts.get(reference)
            if payout is None:
                raise SchemaError(f"line {line}.reference", _("Unknown transfer reference %(ref)r in this batch.")
                                  % {"ref": reference[:40]})
            try:
                amount = int((row.get("amount") or "").strip())
            except ValueError:
                raise SchemaError(f"line {line}.amount", _("The amount must be a whole number of đồng.")) from None
            if amount != payout.net:
                raise SchemaError(f"line {line}.amount", _("The amount %(got)s does not match the transfer (%(want)s).")
                                  % {"got": amount, "want": payout.net})
            if status not in ("paid", "failed"):
                raise SchemaError(f"line {line}.status", _("The status must be paid or failed."))
            outcomes.append((payout, status, (row.get("reason") or "").strip()))
        paid = failed = 0
        for payout, status, reason in outcomes:
            if payout.state in (Payout.State.PAID, Payout.State.FAILED):
                continue  # settled by an earlier file
            _settle(payout, paid=status == "paid", reason=reason)
            paid += status == "paid"
            failed += status == "failed"
        record = BankResultImport.objects.create(sha256=digest, batch=batch, paid=paid, failed=failed,
                                                 imported_by=user)
        if not batch.payouts.filter(state=Payout.State.APPROVED).exists():
            PayoutBatch.objects.filter(pk=batch.pk).update(state=PayoutBatch.State.RECONCILED)
        audit(action=AuditAction.BANK_RESULT_IMPORTED, by=user, target=f"batch {batch.pk}",
              detail={"paid": paid, "failed": failed, "sha256": digest})
    return record


def _settle(payout: Payout, *, paid: bool, reason: str) -> None:
    who = payout.contributor_id
    if paid:
        legs = [(ledger.account(Kind.IN_PAYOUT, contributor_id=who), -payout.gross),
                (ledger.account(Kind.PAID_OUT, contributor_id=who), payout.net)]
        if payout.tax:
            legs.append((ledger.account(Kind.WITHHELD_TAX, contributor_id=who), payout.tax))
        ledger.post(key=f"payout:{payout.reference}:paid", kind=LedgerTransaction.Kind.PAYOUT_PAID, legs=legs,
                    payout=payout)
    else:
        ledger.post(key=f"payout:{payout.reference}:failed", kind=LedgerTransaction.Kind.PAYOUT_FAILED, payout=payout,
                    memo=reason, legs=[(ledger.account(Kind.IN_PAYOUT, contributor_id=who), -payout.gross),
                                       (ledger.account(Kind.AVAILABLE, contributor_id=who), payout.gross)])
    payout.state = Payout.State.PAID if paid else Payout.State.FAILED
    payout.failure_reason = reason[:300]
    payout.settled_at = timezone.now()
    payout.save(update_fields=["state", "failure_reason", "settled_at"])


def save_payout_account(*, user, bank_bin, account_number, account_name) -> PayoutAccount:
    """Record where the contributor is paid (a NAPAS bank BIN or e-wallet code, the account, its holder)."""
    bank_bin = (bank_bin or "").strip()
    number = re.sub(r"[\s-]", "", account_number or "")
    name = " ".join((account_name or "").split()).upper()
    if not re.fullmatch(r"\d{6}", bank_bin):
        raise SchemaError("bank_bin", _("The bank code (BIN) is 6 digits, e.g. 970436 for Vietcombank."))
    if not re.fullmatch(r"\d{6,19}", number):
        raise SchemaError("account_number", _("The account number is 6 to 19 digits."))
    if not name or len(name) > 100:
        raise SchemaError("account_name", _("Enter the account holder's name as the bank has it."))
    destination, _created = PayoutAccount.objects.update_or_create(
        contributor=user, defaults={"bank_bin": bank_bin, "account_number": number, "account_name": name})
    return destination
