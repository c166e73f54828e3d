"""Issue 25: the contributor's yearly withholding-tax certificate (/me/earnings/tax/<year>/) and the finance
admin's CSV exports of ledger entries and payout batches for accounting (finance role only, cells neutralised)."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.test import Client

from payments.models import Entry, LedgerTransaction, Payout, PayoutBatch
from tests.test_payments_pages import make_earned, make_staff


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _payout(user, ref, gross, tax, *, year, state=Payout.State.PAID, name="NGUYEN VAN A", batch=None):
    return Payout.objects.create(reference=ref, contributor=user, gross=gross, tax=tax, net=gross - tax, state=state,
                                 bank_bin="970436", account_number="0011001234567", account_name=name, batch=batch,
                                 settled_at=datetime(year, 6, 15, 3, tzinfo=UTC))


def _rows(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture
def earned(make_campaign, make_contributor):
    return make_earned(make_campaign, make_contributor)


@pytest.fixture
def staff(earned, make_contributor):
    return make_staff(earned, make_contributor)


@pytest.fixture
def paid_year(earned, make_contributor):
    user = earned["user"]
    _payout(user, "P2025A", 2_500_000, 250_000, year=2025)  # 10 % at or above 2,000,000
    _payout(user, "P2025B", 150_000, 0, year=2025)
    _payout(user, "P2025F", 3_000_000, 300_000, year=2025, state=Payout.State.FAILED)  # never paid: not listed
    _payout(user, "P2024A", 2_000_000, 200_000, year=2024)
    _payout(make_contributor(), "POTHER", 9_000_000, 900_000, year=2025, name="TRAN THI B")
    return user


@pytest.mark.django_db
def test_certificate_lists_each_paid_payout_with_totals_in_both_languages(paid_year):
    user = paid_year
    page = _client(user).get("/me/earnings/tax/2025/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Chứng từ khấu trừ thuế thu nhập cá nhân năm 2025" in html and "withholding certificate" in html
    assert f'id="cert-pseudonym">{user.contributor.pseudonym}<' in html
    assert 'id="cert-name">NGUYEN VAN A<' in html
    assert 'data-payout="P2025A"' in html and 'data-payout="P2025B"' in html
    for absent in ("P2025F", "P2024A", "POTHER", "TRAN THI B", "0011001234567"):
        assert absent not in html, absent
    grouped = html.replace(".", ",")  # en or vi grouping
    assert 'id="cert-gross">2,650,000 ₫' in grouped
    assert 'id="cert-tax">250,000 ₫' in grouped
    assert 'id="cert-net">2,400,000 ₫' in grouped
    assert "Circular 111/2013/TT-BTC" in html and "Thông tư 111/2013/TT-BTC" in html


@pytest.mark.django_db
def test_certificate_of_a_year_without_payouts_and_login_required(paid_year):
    html = _client(paid_year).get("/me/earnings/tax/2019/").content.decode()
    assert 'id="cert-empty"' in html and 'id="cert-payouts"' not in html
    assert Client().get("/me/earnings/tax/2025/").status_code == 302


@pytest.mark.django_db
def test_statement_links_each_year_with_a_certificate(paid_year):
    client = _client(paid_year)
    client.cookies["django_language"] = "vi"
    html = client.get("/me/earnings/").content.decode()
    assert 'href="/me/earnings/tax/2025/"' in html and 'href="/me/earnings/tax/2024/"' in html
    assert "Chứng từ khấu trừ thuế:" in html


def _paid_batch(staff, earned):
    client = _client(staff["finance"])
    payout = Payout.objects.get()
    client.post("/admin/payments/payout/", {"action": "approve_batch", "_selected_action": [payout.pk]})
    batch = PayoutBatch.objects.get()
    return client, batch, payout


@pytest.mark.django_db
def test_finance_exports_payout_batches_as_csv(earned, staff):
    client, batch, payout = _paid_batch(staff, earned)
    Payout.objects.filter(pk=payout.pk).update(account_name="=HYPERLINK(\"http://x\")")
    response = client.post("/admin/payments/payoutbatch/", {"action": "export_csv", "_selected_action": [batch.pk]})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    header, *rows = _rows(response)
    assert header[:5] == ["batch", "batch_state", "batch_created_at", "reference", "contributor_pseudonym"]
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["reference"] == payout.reference and row["gross_vnd"] == "150000" and row["net_vnd"] == "150000"
    assert row["contributor_pseudonym"] == earned["user"].contributor.pseudonym
    assert row["account_name"].startswith("'=")  # neutralised: a spreadsheet shows it as text
    assert "0011001234567" not in response.content.decode()  # accounting needs no account numbers


@pytest.mark.django_db
def test_finance_exports_ledger_entries_balanced_and_neutralised(earned, staff):
    client = _client(staff["finance"])
    LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.ACCEPT).update(memo="-2+3 @cmd")
    selected = list(LedgerTransaction.objects.values_list("pk", flat=True))
    response = client.post("/admin/payments/ledgertransaction/",
                           {"action": "export_entries_csv", "_selected_action": selected})
    assert response.status_code == 200
    header, *rows = _rows(response)
    assert header[-1] == "amount_vnd" and len(rows) == Entry.objects.count()
    by_tx: dict[str, int] = {}
    for row in rows:
        rec = dict(zip(header, row, strict=True))
        by_tx[rec["transaction"]] = by_tx.get(rec["transaction"], 0) + int(rec["amount_vnd"])
        if rec["kind"] == "accept":
            assert rec["memo"] == "'-2+3 @cmd"
    assert by_tx and set(by_tx.values()) == {0}  # every transaction balances in the export too
    assert any(r[header.index("account_owner")].startswith("contributor:") for r in rows)


@pytest.mark.django_db
def test_exports_are_finance_only(earned, staff):
    _, batch, _ = _paid_batch(staff, earned)
    manager = _client(staff["manager"])
    for url, action, pk in [("/admin/payments/payoutbatch/", "export_csv", batch.pk),
                            ("/admin/payments/ledgertransaction/", "export_entries_csv",
                             LedgerTransaction.objects.first().pk)]:
        response = manager.post(url, {"action": action, "_selected_action": [pk]})
        assert response.status_code == 403, url
        assert "text/csv" not in response.get("Content-Type", "")
    contributor = _client(earned["user"])
    response = contributor.post("/admin/payments/ledgertransaction/",
                                {"action": "export_entries_csv", "_selected_action": [1]})
    assert response.status_code == 302  # not staff: sent to the admin login
