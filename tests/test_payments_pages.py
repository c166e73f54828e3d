"""Payments pages (issue 25): the contributor's statement and payout request, the manager's cost view, the finance
admin (batches, bank file, VietQR, result import), and who may see contributors' bank details."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from contributors.models import Qualification
from organizations.access import PLATFORM_ROLE_GROUP_NAMES, PlatformRole
from organizations.models import Membership
from payments import earnings, payouts
from payments.budgets import set_budget
from payments.checks import breaches
from payments.models import Earning, Payout, PayoutAccount, PayoutBatch
from review.roles import sync_role_groups
from workqueue.lease import lease_next_item
from workqueue.submit import submit_annotation


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _verify(user):
    profile = user.contributor
    profile.identity_verified_at = timezone.now()
    profile.save(update_fields=["identity_verified_at"])
    Qualification.objects.create(profile=profile, task_type="moderation")
    return user


def make_earned(make_campaign, make_contributor) -> dict:
    """Three answers: two accepted and released (200,000 available), one rejected with a reason."""
    # Overlap 2 with one contributor: no item fills, so no consensus job (whose outcome also pays) runs in a
    # worker while the page is checked; the earnings below are the only ones.
    campaign = make_campaign(items=[{"payload": {"text": f"Câu {i}"}} for i in range(4)], overlap=2, max_overlap=2,
                             pay_per_task=100_000, fee_bps=1000)
    set_budget(campaign=campaign, budget=1_000_000)
    campaign.refresh_from_db()
    user = _verify(make_contributor())
    answers = []
    for _ in range(3):
        lease = lease_next_item(user=user, campaign=campaign, rng=random.Random(1))
        answers.append(submit_annotation(user=user, assignment_id=lease.pk,
                                         payload={"categories": ["safe"]}).annotation)
    earnings.accept(annotation=answers[0], source=Earning.Source.AUTO)
    earnings.accept(annotation=answers[1], source=Earning.Source.AUTO)
    earnings.release_due(now=timezone.now() + timedelta(days=30))
    earnings.reject(annotation=answers[2], reason="Sai nhãn", source=Earning.Source.REVIEW)
    return {"campaign": campaign, "user": user, "answers": answers}


@pytest.fixture
def earned(make_campaign, make_contributor):
    return make_earned(make_campaign, make_contributor)


@pytest.mark.django_db
def test_statement_lists_every_entry_with_campaign_answer_and_balances(earned):
    page = _client(earned["user"]).get("/me/earnings/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f"#{earned['answers'][0].pk}" in html and earned["campaign"].name in html
    assert 'id="balance-available">200,000 ₫' in html or 'id="balance-available">200.000 ₫' in html
    assert "Sai nhãn" in html  # the rejected answer, with its reason
    assert 'href="/me/earnings/"' in _client(earned["user"]).get("/me/").content.decode()


@pytest.mark.django_db
def test_payout_request_form_names_the_field_and_posts_nothing_half(earned):
    user, client = earned["user"], _client(earned["user"])
    page = client.post("/me/earnings/payout/", {"amount": "150000"})
    assert page.status_code == 200 and "Add a bank account or e-wallet first." in page.content.decode()
    bad = client.post("/me/earnings/payout/", {"bank_bin": "97", "account_number": "12ab", "account_name": "x"})
    assert "The bank code (BIN) is 6 digits" in bad.content.decode()
    assert not PayoutAccount.objects.filter(contributor=user).exists()
    ok = client.post("/me/earnings/payout/", {"bank_bin": "970436", "account_number": "0011 0012 34567",
                                              "account_name": "nguyen van a"})
    assert ok.status_code == 302
    assert PayoutAccount.objects.get(contributor=user).account_name == "NGUYEN VAN A"
    for amount, message in [("50000", "The minimum payout is"), ("1,5", "whole number"),
                            ("900000", "more than your available balance")]:
        refused = client.post("/me/earnings/payout/", {"amount": amount}).content.decode()
        assert message in refused and 'class="field-error"' in refused, amount
    assert not Payout.objects.exists()
    done = client.post("/me/earnings/payout/", {"amount": "150.000"})
    assert done.status_code == 302 and Payout.objects.get().gross == 150_000
    page = client.get("/me/earnings/").content.decode()
    assert Payout.objects.get().reference in page and "•" not in page
    assert breaches() == []


@pytest.mark.django_db
def test_payout_page_says_level_four_is_needed(make_contributor):
    page = _client(make_contributor()).get("/me/earnings/payout/").content.decode()
    assert 'id="need-level"' in page and 'id="need-account"' in page


@pytest.mark.django_db
def test_statement_page_in_vietnamese(earned):
    client = _client(earned["user"])
    client.cookies["django_language"] = "vi"
    html = client.get("/me/earnings/").content.decode()
    assert "Thu nhập của tôi" in html and "Yêu cầu rút tiền" in html


def make_staff(earned, make_contributor) -> dict:
    """The campaign's manager and a finance user; the contributor has an account and a requested payout."""
    sync_role_groups()
    org = earned["campaign"].organization
    manager = make_contributor("manager@lab-a.example")
    Membership.objects.create(organization=org, user=manager, role=Membership.Role.MANAGER)  # groups follow
    finance = get_user_model().objects.create_user(username="ke-toan", email="kt@example.com", password="x",
                                                   is_staff=True)
    finance.groups.add(Group.objects.get(name=PLATFORM_ROLE_GROUP_NAMES[PlatformRole.FINANCE]))
    PayoutAccount.objects.create(contributor=earned["user"], bank_bin="970436", account_number="0011001234567",
                                 account_name="NGUYEN VAN A")
    payouts.request_payout(user=earned["user"], amount=150_000)
    return {"manager": manager, "finance": finance}


@pytest.fixture
def staff(earned, make_contributor):
    return make_staff(earned, make_contributor)


@pytest.mark.django_db
def test_manager_sees_cost_per_campaign_and_per_answer_never_bank_details(earned, staff):
    client = _client(staff["manager"])
    page = client.get("/admin/payments/earning/")
    html = page.content.decode()
    assert page.status_code == 200, html[:500]
    assert 'id="cost-table"' in html and earned["campaign"].name in html
    assert "110,000" in html or "110.000" in html  # cost per accepted answer: pay 100,000 + 10 % fee
    for url in ["/admin/payments/payout/", "/admin/payments/payoutbatch/", "/admin/payments/payoutaccount/"]:
        assert client.get(url).status_code == 403, url
    assert "0011001234567" not in html and "NGUYEN VAN A" not in html


@pytest.mark.django_db
def test_finance_approves_downloads_and_imports_the_bank_result(earned, staff):
    client = _client(staff["finance"])
    listing = client.get("/admin/payments/payout/")
    assert listing.status_code == 200 and "0011001234567" in listing.content.decode()
    payout = Payout.objects.get()
    done = client.post("/admin/payments/payout/", {"action": "approve_batch", "_selected_action": [payout.pk]})
    assert done.status_code == 302
    batch = PayoutBatch.objects.get()
    bank = client.get(f"/admin/payments/payoutbatch/{batch.pk}/bank.csv")
    assert bank.status_code == 200 and payout.reference in bank.content.decode()
    qr = client.get(f"/admin/payments/payoutbatch/{batch.pk}/vietqr.csv").content.decode()
    assert "A000000727" in qr
    result = f"reference,status,amount\n{payout.reference},paid,{payout.net}\n".encode()
    up = client.post(f"/admin/payments/payoutbatch/{batch.pk}/import/",
                     {"file": SimpleUploadedFile("result.csv", result, content_type="text/csv")})
    assert up.status_code == 302
    assert Payout.objects.get().state == Payout.State.PAID
    wrong = client.post(f"/admin/payments/payoutbatch/{batch.pk}/import/", {
        "file": SimpleUploadedFile("r.csv", b"reference,status,amount\nPXXX,paid,1\n", content_type="text/csv")})
    assert wrong.status_code == 200 and "Unknown transfer reference" in wrong.content.decode()
    assert breaches() == []
