"""Per-token API rate limit: a fixed-window counter in the cache (Redis-shared across web processes).

DRF's SimpleRateThrottle keeps a list of request timestamps per client and rewrites it on every
request (a GET and a SET of up to ``num_requests`` floats); a counter per window is one INCR. A fixed
window may let through up to twice the rate across a window boundary, which is fine for a budget.
"""
import time

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.cache import count_hit


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
            return self.user_cache_key(request.user.pk)
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def user_cache_key(self, user_id) -> str:
        return self.cache_format % {"scope": self.scope, "ident": f"user:{user_id}"}

    def counter(self, key: str | None) -> tuple[str, int] | None:
        """The fixed-window counter a request under ``key`` counts against, and its lifetime in seconds;
        None when no limit applies."""
        if self.rate is None or key is None:
            return None
        now = time.time()
        window = int(now // self.duration)
        self.wait_seconds = (window + 1) * self.duration - now
        return f"{key}:{window}", int(self.duration) + 1

    def allows(self, count: int | None) -> bool:
        return count is None or count <= self.num_requests  # cache down: fail open, as every cache read here

    def allow_request(self, request, view):
        counter = self.counter(self.get_cache_key(request, view))
        return True if counter is None else self.allows(count_hit(*counter))

    def wait(self):
        return max(1.0, getattr(self, "wait_seconds", self.duration))
