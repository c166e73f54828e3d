"""Contributor pages under /me/earnings/: the statement (every entry, balances, payouts, tax) and payouts. Thin."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contributors.selectors import verification_level
from core.schema import SchemaError
from payments import payouts, selectors
from payments.models import Account, Earning
from review.disputes import disputes_of
from web.contributors.contests import send_answer_contest, send_suspension_contest
from web.payments.forms import PayoutAccountForm, PayoutRequestForm

Kind = Account.Kind


def _schema_error(form, exc: SchemaError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
def statement(request):
    disputes = list(disputes_of(request.user))
    profile = getattr(request.user, "contributor", None)
    suspended = profile if profile is not None and profile.status == profile.Status.SUSPENDED else None
    return render(request, "payments/statement.html", {
        "balances": selectors.balances(request.user), "entries": selectors.statement(request.user),
        "rejected": selectors.rejected(request.user), "payouts": selectors.payouts_of(request.user),
        "tax_years": selectors.tax_years(request.user), "disputes": disputes,
        "contested": {d.annotation_id for d in disputes if d.annotation_id},
        "suspended": suspended,
        "open_suspension_dispute": any(d.kind == d.Kind.SUSPENSION and d.state == d.State.OPEN for d in disputes),
    })


@login_required
@require_POST
def contest_answer(request, annotation_id: int):
    """Contest one of the contributor's own rejected answers (the statement's form); anyone else's answer is 404."""
    get_object_or_404(Earning, annotation_id=annotation_id, contributor=request.user)
    send_answer_contest(request, annotation_id)
    return redirect("contributor-statement")


@login_required
@require_POST
def contest_suspension(request):
    send_suspension_contest(request)
    return redirect("contributor-statement")


@login_required
def tax_certificate(request, year: int):
    """The yearly personal income tax withholding certificate, printable, in Vietnamese and English."""
    return render(request, "payments/tax_certificate.html", {
        "cert": selectors.tax_certificate(request.user, year), "rate": settings.PAYMENTS_TAX_RATE_BPS / 100,
        "threshold": settings.PAYMENTS_TAX_THRESHOLD})


@login_required
def payout(request):
    user = request.user
    destination = selectors.payout_account(user)
    request_form = PayoutRequestForm(request.POST if "amount" in request.POST else None)
    account_form = PayoutAccountForm(
        request.POST if "bank_bin" in request.POST else None,
        initial={"bank_bin": destination.bank_bin, "account_name": destination.account_name,
                 "tax_code": destination.tax_code} if destination else None)
    if request.method == "POST" and "amount" in request.POST and request_form.is_valid():
        try:
            made = payouts.request_payout(user=user, amount=request_form.cleaned_data["amount"])
        except SchemaError as exc:
            _schema_error(request_form, exc)
        else:
            messages.success(request, _("Payout %(ref)s requested: %(net)s đồng after tax. Finance staff approve "
                                        "payouts in batches.") % {"ref": made.reference,
                                                                  "net": f"{made.net:,}".replace(",", ".")})
            return redirect("contributor-statement")
    if request.method == "POST" and "bank_bin" in request.POST and account_form.is_valid():
        try:
            payouts.save_payout_account(user=user, **account_form.cleaned_data)
        except SchemaError as exc:
            _schema_error(account_form, exc)
        else:
            messages.success(request, _("Your payout account is saved."))
            return redirect("contributor-payout")
    level = verification_level(user)
    available = selectors.balances(user)[Kind.AVAILABLE]
    return render(request, "payments/payout.html", {
        "request_form": request_form, "account_form": account_form, "destination": destination,
        "masked_number": selectors.masked(destination.account_number) if destination else "",
        "level": level, "available": available, "minimum": settings.PAYMENTS_MIN_PAYOUT,
        "can_request": level >= 4 and destination is not None and available >= settings.PAYMENTS_MIN_PAYOUT,
    })
