"""Contributor forms for payouts: the amount asked for and the account paid into."""
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class PayoutRequestForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount (đồng)"), max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].help_text = _("At least %(min)s đồng. Tax is withheld on a payment of %(threshold)s "
                                            "đồng or more.") % {
            "min": f"{settings.PAYMENTS_MIN_PAYOUT:,}".replace(",", "."),
            "threshold": f"{settings.PAYMENTS_TAX_THRESHOLD:,}".replace(",", ".")}


class PayoutAccountForm(forms.Form):
    bank_bin = forms.CharField(label=_("Bank or e-wallet code (BIN)"), max_length=6,
                               widget=forms.TextInput(attrs={"inputmode": "numeric"}),
                               help_text=_("6 digits, e.g. 970436 Vietcombank, 970415 VietinBank."))
    account_number = forms.CharField(label=_("Account number"), max_length=30,
                                     widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    account_name = forms.CharField(label=_("Account holder"), max_length=100,
                                   help_text=_("As the bank has it, e.g. NGUYEN VAN A."))
    tax_code = forms.CharField(label=_("Personal tax code"), max_length=20, required=False,
                               widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
                               help_text=_("Your 12-digit citizen ID number (your tax code since 2025), or an older "
                                           "10-digit tax code. Shown only to you and finance staff."))
