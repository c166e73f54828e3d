"""One brute-force limit for every log-in form (Django admin, allauth): failures counted in the cache.

Two counters, each in a bounded window (LOGIN_FAILURE_WINDOW_SECONDS from the first failure):
per (client IP, account) and per client IP. There is deliberately no per-account counter: anyone who
knows an address could then lock its owner out; here an attacker locks only their own address, and
only until the window ends. While a counter is over its limit every attempt, the right password
included, is refused: the backends (core.auth_backends) raise PermissionDenied, which makes
``django.contrib.auth.authenticate`` stop and report a failure. Counters live in Django's cache (Redis
in production, shared by every web process); a Redis outage degrades to no limit (core.cache) rather
than to no log-in.
"""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.dispatch import receiver


def window_seconds() -> int:
    return int(getattr(settings, "LOGIN_FAILURE_WINDOW_SECONDS", 900))


def _limits() -> tuple[int, int]:
    return (int(getattr(settings, "LOGIN_FAILURES_PER_IP_AND_ACCOUNT", 5)),
            int(getattr(settings, "LOGIN_FAILURES_PER_IP", 50)))


def client_ip(request) -> str:
    if request is None:
        return ""
    from allauth.account.adapter import (
        get_adapter,  # honours ALLAUTH_TRUSTED_PROXY_COUNT like allauth's limits
    )

    try:
        return get_adapter(request).get_client_ip(request)
    except Exception:  # noqa: BLE001 - no usable address: count under the socket's
        return request.META.get("REMOTE_ADDR", "")


def account_of(credentials: dict) -> str:
    """The account a log-in names (admin posts ``username``, allauth ``email``/``username``), normalised."""
    for name in ("email", "username", "login"):
        value = credentials.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip().lower()
    return ""


def _keys(ip: str, account: str) -> tuple[str, str]:
    digest = hashlib.sha256(f"{ip}\x00{account}".encode()).hexdigest()[:32]
    return f"login-fail:pair:{digest}", f"login-fail:ip:{hashlib.sha256(ip.encode()).hexdigest()[:32]}"


def is_locked(request, credentials: dict) -> bool:
    """True while this client has failed too often, for this account or for any."""
    pair, per_ip = _keys(client_ip(request), account_of(credentials))
    pair_limit, ip_limit = _limits()
    counts = cache.get_many([pair, per_ip])
    return counts.get(pair, 0) >= pair_limit or counts.get(per_ip, 0) >= ip_limit


def _count(key: str) -> None:
    # add then incr: the expiry is set once, at the first failure, so the window is bounded and a stream
    # of refused attempts does not extend it.
    cache.add(key, 0, window_seconds())
    try:
        cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, window_seconds())


def record_failure(request, credentials: dict) -> None:
    for key in _keys(client_ip(request), account_of(credentials)):
        _count(key)


def record_success(request, credentials: dict) -> None:
    """The right password (not locked): this client's failures for this account are forgiven."""
    cache.delete(_keys(client_ip(request), account_of(credentials))[0])


@receiver(user_login_failed, dispatch_uid="core.login_limit.failed")
def _on_failure(sender, credentials, request=None, **kwargs):
    if request is not None:
        record_failure(request, credentials)
