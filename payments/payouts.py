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

# What a bank-file column may hold, per transfer (``seq`` is the row number from 1).
BANK_FIELDS = {
    "seq": lambda p, i: i,
    "reference": lambda p, i: p.reference,
    "bank_bin": lambda p, i: p.bank_bin,
    "account_number": lambda p, i: p.account_number,
    "account_name": lambda p, i: p.account_name,
    "amount": lambda p, i: p.net,
    "currency": lambda p, i: "VND",
    "description": lambda p, i: f"ANNOT {p.reference}",
}

# Bank-file layouts: a configurable column mapping (header -> field), a delimiter and an encoding. None of these
# is claimed to be a bank's published bulk-transfer template (none was verified against one): they are examples
# of the shapes banks' templates take; finance staff add the exact layout of their bank in settings
# (``PAYMENTS_BANK_LAYOUTS``, same shape), and docs/payments.md lists each column.
BUILTIN_BANK_LAYOUTS = {
    "generic": {"label": "Generic CSV (reference first)", "delimiter": ",",
                "columns": [[c, c] for c in BANK_FILE_COLUMNS]},
    "vn_numbered": {"label": "Numbered rows, Vietnamese headers (example mapping)", "delimiter": ",",
                    "columns": [["STT", "seq"], ["So tai khoan", "account_number"], ["Ten nguoi huong", "account_name"],
                                ["Ma ngan hang", "bank_bin"], ["So tien", "amount"], ["Loai tien", "currency"],
                                ["Noi dung", "description"]]},
    "semicolon_bin_first": {"label": "Semicolon-separated, bank code first (example mapping)", "delimiter": ";",
                            "columns": [["BIN", "bank_bin"], ["ACCOUNT", "account_number"], ["NAME", "account_name"],
                                        ["AMOUNT", "amount"], ["REF", "reference"], ["REMARK", "description"]]},
}


def bank_layouts() -> dict[str, dict]:
    """The layouts finance may choose per batch: the built-in examples and those in settings (checked)."""
    layouts = {**BUILTIN_BANK_LAYOUTS, **getattr(settings, "PAYMENTS_BANK_LAYOUTS", {})}
    for key, layout in layouts.items():
        fields = [f for _h, f in layout.get("columns", [])]
        unknown = sorted(set(fields) - set(BANK_FIELDS))
        if not fields or unknown or "amount" not in fields or len(layout.get("delimiter", ",")) != 1:
            raise SchemaError(f"PAYMENTS_BANK_LAYOUTS.{key}", _("A layout needs columns of known fields (%(known)s), "
                                                                "an amount column and a one-character delimiter.")
                              % {"known": ", ".join(BANK_FIELDS)})
    return layouts


def set_batch_layout(*, user, batch: PayoutBatch, layout: str) -> PayoutBatch:
    _require_finance(user)
    if layout not in bank_layouts():
        raise SchemaError("layout", _("Unknown bank file layout %(layout)r.") % {"layout": layout[:40]})
    PayoutBatch.objects.filter(pk=batch.pk).update(layout=layout)
    batch.layout = layout
    return batch


def bank_file(batch: PayoutBatch, layout: str | None = None) -> str:
    """The batch as a bank-transfer file in its layout (docs/payments.md: one row per transfer, amount net of tax)."""
    layouts = bank_layouts()
    spec = layouts.get(layout or batch.layout) or layouts["generic"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", delimiter=spec["delimiter"])
    writer.writerow([header for header, _field in spec["columns"]])
    for i, p in enumerate(batch.payouts.order_by("id"), start=1):
        writer.writerow([BANK_FIELDS[field](p, i) for _header, field in spec["columns"]])
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
        reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error):
        raise SchemaError("file", _("The result file must be UTF-8 CSV.")) from None
    missing = [c for c in ("reference", "status", "amount") if c not in (reader.fieldnames or [])]
    if missing:
        raise SchemaError("line 1", _("The header must name the columns reference, status, amount[, reason]; "
                                      "missing: %(missing)s.") % {"missing": ", ".join(missing)})
    if not rows:
        raise SchemaError("file", _("The result file lists no transfers."))
    with transaction.atomic():
        payouts = {p.reference: p for p in Payout.objects.select_for_update().filter(batch=batch)}
        outcomes, seen = [], {}
        for line, row in enumerate(rows, start=2):
            reference = (row.get("reference") or "").strip()
            if reference in seen:
                raise SchemaError(f"line {line}.reference", _("Transfer %(ref)s is listed twice (first on line "
                                                              "%(first)s).") % {"ref": reference[:40],
                                                                                "first": seen[reference]})
            seen[reference] = line
            status = (row.get("status") or "").strip().lower()
            payout = payouts.get(reference)
            if payout is None:
                raise SchemaError(f"line {line}.reference", _("Unknown transfer reference %(ref)r in this batch.")
                                  % {"ref": reference[:40]})
            text = (row.get("amount") or "").strip()
            try:
                if not text.isdigit():
                    raise ValueError(text)
                amount = int(text)
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


def clean_tax_code(value) -> str:
    """A personal tax code (mã số thuế cá nhân) as stored, or "" when none is given.

    Since 1 July 2025 the 12-digit citizen ID number (số định danh cá nhân) serves as an individual's tax code;
    older codes are 10 digits, or 13 with a 3-digit branch suffix written 0123456789-001. Only the shape is checked
    (no check digit: the General Department of Taxation's lookup is the authority)."""
    text = re.sub(r"[\s.]", "", value or "")
    if not text:
        return ""
    if re.fullmatch(r"\d{12}", text):
        if text.startswith("000"):
            raise SchemaError("tax_code", _("A citizen ID number starts with a province code (001 to 096)."))
        return text
    if re.fullmatch(r"\d{10}", text):
        return text
    branch = re.fullmatch(r"(\d{10})-?(\d{3})", text)
    if branch:
        return f"{branch.group(1)}-{branch.group(2)}"
    raise SchemaError("tax_code", _("A personal tax code is the 12-digit citizen ID number, or an older 10-digit "
                                    "code (13 with a branch suffix, 0123456789-001)."))


def save_payout_account(*, user, bank_bin, account_number, account_name, tax_code="") -> PayoutAccount:
    """Record where the contributor is paid (a NAPAS bank BIN or e-wallet code, the account, its holder) and their
    personal tax code (shown on the withholding certificate)."""
    tax_code = clean_tax_code(tax_code)
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
        contributor=user, defaults={"bank_bin": bank_bin, "account_number": number, "account_name": name,
                                     "tax_code": tax_code})
    return destination
