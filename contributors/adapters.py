"""allauth adapter: where a contributor lands after logging in or confirming their e-mail."""
from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse

from .selectors import profile_for


def _profile_page_if_incomplete(user) -> str | None:
    if user is None or user.is_staff:
        return None
    profile = profile_for(user)
    if profile is None or not profile.is_complete:
        return reverse("contributor-profile")
    return None


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        # Contributors land on their dashboard (level, next step, open campaigns); staff as configured.
        user = request.user
        if user.is_authenticated and not user.is_staff:
            return _profile_page_if_incomplete(user) or reverse("contributor-dashboard")
        return super().get_login_redirect_url(request)

    def get_email_verification_redirect_url(self, email_address):
        return _profile_page_if_incomplete(email_address.user) or super().get_email_verification_redirect_url(
            email_address
        )

    def get_signup_redirect_url(self, request):
        # After sign-up (and the e-mail confirmation that resumes it) the next step is the profile.
        return _profile_page_if_incomplete(request.user) or super().get_signup_redirect_url(request)
