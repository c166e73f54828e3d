"""allauth adapter: where a contributor lands after logging in."""
from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse

from .selectors import profile_for


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        user = request.user
        if not user.is_staff:
            profile = profile_for(user)
            if profile is None or not profile.is_complete:
                return reverse("contributor-profile")
        return super().get_login_redirect_url(request)
