"""Per-token API rate limit (DRF's cache-backed sliding window; Redis-shared across web processes)."""
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class ApiTokenRateThrottle(SimpleRateThrottle):
    """Each token has its own budget (``API_TOKEN_RATE``, e.g. ``6000/min``); browser sessions are per user."""

    scope = "api_token"

    def get_rate(self):
        # Read at request time (DRF binds THROTTLE_RATES at import), so a changed setting takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        token = getattr(request, "auth", None)
        if token is not None and hasattr(token, "prefix"):
            ident = f"token:{token.prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
