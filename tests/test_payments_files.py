"""Payments files and fields (issue 25): bank-file layouts per batch, bad bank result files refused naming the line
with nothing applied, Parquet exports read back with pyarrow, the personal tax code (validated, on the certificate,
never shown to customers), budgets refused when lowered below what is committed, and the Account constraint that
every backend enforces (no SQLite W047)."""
from __future__ import annotations

import io
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest
from django.core import checks
from django.db import IntegrityError, transaction
from django.test import Client

from core.schema import SchemaError
from payments import ledger, payouts
from payments.checks import breaches
from payments.models import Account, Entry, LedgerTransaction, Payout, PayoutAccount, PayoutBatch
from tests.test_payments_pages import make_earned, make_staff


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def earned(make_campaign, make_contributor):
    return make_earned(make_campaign, make_contributor)


@pytest.fixture
def staff(earned, make_contributor):
    return make_staff(earned, make_contributor)


@pytest.fixture
def batch(staff, earned):
    client = _client(staff["finance"])
    payout = Payout.objects.get()
    client.post("/admin/payments/payout/", {"action": "approve_batch", "_selected_action": [payout.pk]})
    return PayoutBatch.objects.get()


@pytest.mark.django_db
def test_bank_file_layouts_are_chosen_per_batch(batch, staff, settings):
    payout = batch.payouts.get()
    client = _client(staff["finance"])
    generic = client.get(f"/admin/payments/payoutbatch/{batch.pk}/bank.csv").content.decode("utf-8-sig")
    assert generic.splitlines() == ["reference,bank_bin,account_number,account_name,amount,description",
                                    f"{payout.reference},970436,0011001234567,NGUYEN VAN A,150000,"
                                    f"ANNOT {payout.reference}"]
    change = client.post(f"/admin/payments/payoutbatch/{batch.pk}/change/", {"layout": "semicolon_bin_first"})
    assert change.status_code == 302 and PayoutBatch.objects.get().layout == "semicolon_bin_first"
    semi = client.get(f"/admin/payments/payoutbatch/{batch.pk}/bank.csv").content.decode("utf-8-sig")
    assert semi.splitlines() == ["BIN;ACCOUNT;NAME;AMOUNT;REF;REMARK",
                                 f"970436;0011001234567;NGUYEN VAN A;150000;{payout.reference};"
                                 f"ANNOT {payout.reference}"]
    numbered = client.get(f"/admin/payments/payoutbatch/{batch.pk}/bank.csv?layout=vn_numbered")
    assert numbered.content.decode("utf-8-sig").splitlines()[1] == (
        f"1,0011001234567,NGUYEN VAN A,970436,150000,VND,ANNOT {payout.reference}")
    assert client.get(f"/admin/payments/payoutbatch/{batch.pk}/bank.csv?layout=nope").status_code == 404
    with pytest.raises(SchemaError) as unknown:
        payouts.set_batch_layout(user=staff["finance"], batch=batch, layout="nope")
    assert unknown.value.field == "layout"

    # a bank's own template configured in settings, checked before use
    settings.PAYMENTS_BANK_LAYOUTS = {"my_bank": {"label": "My bank", "delimiter": "\t",
                                                  "columns": [["Account", "account_number"], ["Amount", "amount"]]}}
    assert payouts.bank_file(batch, "my_bank").splitlines()[1] == "0011001234567\t150000"
    settings.PAYMENTS_BANK_LAYOUTS = {"broken": {"columns": [["IBAN", "iban"], ["Amount", "amount"]]}}
    with pytest.raises(SchemaError) as broken:
        payouts.bank_layouts()
    assert broken.value.field == "PAYMENTS_BANK_LAYOUTS.broken"


BAD_RESULT_FILES = [
    ("reference,status,amount\nPNOPE,paid,150000\n", "line 2.reference"),
    ("reference,status,amount\n{ref},paid,150001\n", "line 2.amount"),
    ("reference,status,amount\n{ref},paid,150000.5\n", "line 2.amount"),
    ("reference,status,amount\n{ref},paid,-150000\n", "line 2.amount"),
    ("reference,status,amount\n{ref},paid,150000\n{ref},failed,150000\n", "line 3.reference"),
    ("reference,status,amount\n{ref},bounced,150000\n", "line 2.status"),
    ("ref,status,amount\n{ref},paid,150000\n", "line 1"),
    ("reference,status,amount\n", "file"),
]


@pytest.mark.django_db
def test_bad_bank_result_files_are_refused_naming_the_line_and_nothing_is_applied(batch, staff):
    payout = batch.payouts.get()
    before = (LedgerTransaction.objects.count(), Entry.objects.count())
    for body, field in BAD_RESULT_FILES:
        with pytest.raises(SchemaError) as refused:
            payouts.import_bank_result(user=staff["finance"], batch=batch,
                                       content=body.format(ref=payout.reference).encode())
        assert refused.value.field == field, body
        assert Payout.objects.get().state == Payout.State.APPROVED
        assert (LedgerTransaction.objects.count(), Entry.objects.count()) == before
    assert not batch.imports.exists() and breaches() == []

    # through the admin's upload form: the message names the line, the good first line is not applied either
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = f"reference,status,amount\n{payout.reference},paid,150000\nPGHOST,paid,5\n".encode()
    page = _client(staff["finance"]).post(f"/admin/payments/payoutbatch/{batch.pk}/import/", {
        "file": SimpleUploadedFile("result.csv", content, content_type="text/csv")})
    assert page.status_code == 200 and "line 3.reference" in page.content.decode()
    assert Payout.objects.get().state == Payout.State.APPROVED  # the good first line was not applied either


@pytest.mark.django_db
def test_parquet_exports_read_back_with_pyarrow(batch, staff, earned):
    client = _client(staff["finance"])
    selected = list(LedgerTransaction.objects.values_list("pk", flat=True))
    response = client.post("/admin/payments/ledgertransaction/",
                           {"action": "export_entries_parquet", "_selected_action": selected})
    assert response.status_code == 200 and response["Content-Type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(response.content))
    assert str(table.schema.field("amount_vnd").type) == "int64"
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    rows = table.to_pylist()
    assert len(rows) == Entry.objects.count()
    sums: dict[int, int] = {}
    for row in rows:
        sums[row["transaction"]] = sums.get(row["transaction"], 0) + row["amount_vnd"]
    assert set(sums.values()) == {0}
    assert {r["kind"] for r in rows} >= {"accept", "payout_request"}

    response = client.post("/admin/payments/payoutbatch/", {"action": "export_parquet",
                                                            "_selected_action": [batch.pk]})
    [payout] = pq.read_table(io.BytesIO(response.content)).to_pylist()
    assert (payout["gross_vnd"], payout["tax_vnd"], payout["net_vnd"], payout["state"]) == (150000, 0, 150000,
                                                                                              "approved")
    assert payout["settled_at"] is None and payout["batch_layout"] == "generic"
    assert payout["contributor_pseudonym"] == earned["user"].contributor.pseudonym
    manager = _client(staff["manager"]).post("/admin/payments/payoutbatch/", {
        "action": "export_parquet", "_selected_action": [batch.pk]})
    assert manager.status_code == 403


@pytest.mark.parametrize("raw, stored", [
    ("001099012345", "001099012345"), ("079 203 004 567", "079203004567"), ("0312345678", "0312345678"),
    ("0312345678-001", "0312345678-001"), ("0312345678001", "0312345678-001"), ("", ""),
])
def test_tax_codes_accepted(raw, stored):
    assert payouts.clean_tax_code(raw) == stored


@pytest.mark.parametrize("raw", ["12345", "03123456789", "000099012345", "0312345678-01", "MST0312345678",
                                 "0312345678-0011", "1234567890123456"])
def test_tax_codes_refused_naming_the_field(raw):
    with pytest.raises(SchemaError) as refused:
        payouts.clean_tax_code(raw)
    assert refused.value.field == "tax_code"


@pytest.mark.django_db
def test_tax_code_saved_by_the_contributor_on_the_certificate_and_never_shown_to_customers(earned, staff):
    user = earned["user"]
    me = _client(user)
    bad = me.post("/me/earnings/payout/", {"bank_bin": "970436", "account_number": "0011001234567",
                                           "account_name": "Nguyen Van A", "tax_code": "12345"})
    assert bad.status_code == 200 and "12-digit citizen ID" in bad.content.decode()
    assert PayoutAccount.objects.get(contributor=user).tax_code == ""
    me.post("/me/earnings/payout/", {"bank_bin": "970436", "account_number": "0011001234567",
                                     "account_name": "Nguyen Van A", "tax_code": "001 099 012 345"})
    assert PayoutAccount.objects.get(contributor=user).tax_code == "001099012345"
    assert 'id="tax-code">001099012345<' in me.get("/me/earnings/payout/").content.decode()
    Payout.objects.update(state=Payout.State.PAID, settled_at=datetime(2025, 6, 1, tzinfo=UTC))
    cert = me.get("/me/earnings/tax/2025/").content.decode()
    assert 'id="cert-tax-code">001099012345<' in cert and "Mã số thuế cá nhân" in cert

    finance = _client(staff["finance"]).get("/admin/payments/payoutaccount/").content.decode()
    assert "001099012345" in finance
    manager = _client(staff["manager"])
    for url in ["/admin/payments/payoutaccount/", "/admin/payments/earning/", "/admin/payments/bonus/",
                "/admin/review/dispute/", "/admin/payments/payout/"]:
        response = manager.get(url)
        assert "001099012345" not in response.content.decode(), url
    # another contributor's certificate is their own: the year URL never shows someone else's code
    from django.contrib.auth import get_user_model

    other = _client(get_user_model().objects.create_user(username="x", password="x"))
    assert "001099012345" not in other.get("/me/earnings/tax/2025/").content.decode()


@pytest.mark.django_db
def test_budget_lowered_below_committed_or_fractional_is_refused_by_the_campaign_settings(make_campaign,
                                                                                         make_contributor):
    from payments.budgets import set_budget
    from workqueue.lease import lease_next_item

    campaign = make_campaign(pay_per_task=1000, overlap=1, max_overlap=1)
    set_budget(campaign=campaign, budget=5000)
    campaign.refresh_from_db()
    lease_next_item(user=make_contributor(), campaign=campaign)
    campaign.refresh_from_db()
    committed = campaign.budget_used
    assert committed > 0
    from tasks.services import validate_campaign_settings

    for value, message in [(committed - 1, "below what is already committed"), ("1000.5", "whole"),
                           (-1, "whole")]:
        campaign.budget = value
        with pytest.raises(SchemaError) as refused:
            validate_campaign_settings(campaign)
        assert refused.value.field == "budget" and message in refused.value.message


@pytest.mark.django_db
def test_account_uniqueness_holds_on_every_backend_without_w047(make_campaign, make_contributor):
    earned = {"campaign": make_campaign(), "user": make_contributor()}
    found = [m for m in checks.run_checks(databases=["default"]) if m.id == "models.W047"]
    assert found == []
    for owner in ({}, {"campaign_id": earned["campaign"].pk}, {"contributor_id": earned["user"].pk}):
        kind = Account.Kind.FEES if not owner else (Account.Kind.BUDGET if "campaign_id" in owner
                                                    else Account.Kind.AVAILABLE)
        ledger.account(kind, **owner)
        with pytest.raises(IntegrityError), transaction.atomic():
            Account.objects.create(kind=kind, **owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(kind=Account.Kind.BUDGET, campaign_id=earned["campaign"].pk,
                               contributor_id=earned["user"].pk)
