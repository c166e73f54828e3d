"""Forms: allauth sign-up and log-in with a device fingerprint, the profile, the identity upload."""
from __future__ import annotations

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.core import context, ratelimit
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributors import services
from contributors.models import ContributorProfile
from contributors.provinces import province_choices, region_of

DIALECTS = [
    ("north", _("Northern (e.g. Hà Nội)")),
    ("central", _("Central (e.g. Huế, Nghệ An)")),
    ("south", _("Southern (e.g. Sài Gòn)")),
    ("other", _("Other / mixed")),
]
LANGUAGES = [
    ("vi", _("Vietnamese")),
    ("en", _("English")),
    ("zh", _("Chinese")),
    ("fr", _("French")),
    ("ja", _("Japanese")),
    ("ko", _("Korean")),
    ("km", _("Khmer")),
    ("tay", _("Tày")),
    ("tai", _("Thái")),
    ("muong", _("Mường")),
    ("hmong", _("H'Mông")),
    ("other", _("Other")),
]


def _fingerprint_field() -> forms.CharField:
    # Filled by static/contributors/device.js; empty without JavaScript, which is allowed.
    return forms.CharField(required=False, widget=forms.HiddenInput(attrs={"data-device-fingerprint": ""}))


class SignupForm(AllauthSignupForm):
    device_fingerprint = _fingerprint_field()

    def clean(self):
        cleaned = super().clean()
        request = context.request
        refusal = services.signup_refusal(
            fingerprint=services.fingerprint_digest(cleaned.get("device_fingerprint", "")),
            ip=services.client_ip(request) if request else None,
        )
        if refusal:
            raise forms.ValidationError(refusal, code="rate_limited")
        return cleaned

    def signup(self, request, user):
        services.ensure_profile(user)
        services.record_device_sighting(
            user=user, event="signup",
            fingerprint=services.fingerprint_digest(self.cleaned_data.get("device_fingerprint", "")),
            ip=services.client_ip(request),
        )


class LoginForm(AllauthLoginForm):
    """allauth's log-in (limits per IP and per account) plus the platform's limit per device fingerprint,
    which catches one device cycling through many accounts and networks (rate "login_device")."""

    device_fingerprint = _fingerprint_field()

    def clean(self):
        digest = services.fingerprint_digest(self.data.get("device_fingerprint", ""))
        if digest and self.request is not None and not ratelimit.consume(
            self.request, action="login_device", key=digest
        ):
            raise forms.ValidationError(
                _("Too many log-in attempts from this device. Please wait a while and try again."), code="rate_limited"
            )
        return super().clean()


class ProfileForm(forms.ModelForm):
    province = forms.ChoiceField(label=_("Province or city"), choices=[("", "—")] + province_choices())
    dialect = forms.ChoiceField(label=_("Native dialect"), choices=[("", "—")] + DIALECTS)
    languages = forms.MultipleChoiceField(
        label=_("Languages you speak well"), choices=LANGUAGES, widget=forms.CheckboxSelectMultiple, required=False
    )
    consent = forms.BooleanField(
        label=_("I agree to the contributor terms"), required=False,
        help_text=_("Your answers are sold as training data; only your pseudonym, age band and region go with them."),
    )

    class Meta:
        model = ContributorProfile
        fields = ["display_name", "birth_year", "gender", "region", "province", "dialect", "languages", "device_type"]
        widgets = {"device_type": forms.Select(choices=[("", "—")] + ContributorProfile.Device.choices)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("display_name", "birth_year", "region", "province"):
            self.fields[name].required = True
        self.fields["gender"].required = False
        self.fields["gender"].help_text = _("Optional.")
        self.fields["device_type"].required = True
        self.fields["birth_year"].widget.attrs.update({"inputmode": "numeric", "min": 1900})
        already = self.instance.consent_version == settings.CONTRIBUTOR_TERMS_VERSION and self.instance.consent_at
        self.consent_needed = not already
        if already:
            self.fields["consent"].initial = True
            self.fields["consent"].disabled = True

    def clean_birth_year(self):
        year = self.cleaned_data["birth_year"]
        this_year = timezone.localdate().year
        if year is None:
            return year
        if year > this_year:
            raise forms.ValidationError(_("Birth year cannot be in the future."), code="future")
        if year < 1900:
            raise forms.ValidationError(_("Enter a birth year after 1900."), code="too_old")
        if this_year - year < settings.CONTRIBUTOR_MIN_AGE:
            raise forms.ValidationError(
                _("You must be at least %(age)d years old to contribute.") % {"age": settings.CONTRIBUTOR_MIN_AGE},
                code="too_young",
            )
        return year

    def clean_display_name(self):
        name = (self.cleaned_data["display_name"] or "").strip()
        if not name:
            raise forms.ValidationError(_("This field is required."), code="required")
        return name

    def clean(self):
        cleaned = super().clean()
        province, region = cleaned.get("province"), cleaned.get("region")
        if province and region and region_of().get(province) != region:
            self.add_error("province", _("%(province)s is not in the region you chose.") % {"province": province})
        if self.consent_needed and not cleaned.get("consent"):
            self.add_error("consent", _("You need to agree to the contributor terms to work on the platform."))
        return cleaned


class IdentityDocumentForm(forms.Form):
    document = forms.FileField(
        label=_("Photo or PDF of your ID card or passport"),
        help_text=_("JPEG, PNG, WebP or PDF, at most %(mb)d MB. Only staff see it; it is deleted after review."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,application/pdf"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["document"]
        field.help_text = field.help_text % {"mb": settings.CONTRIBUTOR_ID_MAX_BYTES // (1024 * 1024)}
