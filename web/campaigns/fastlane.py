"""The queue's fast lane: `next` and `submit` for signed-in browsers without the full stack.

At the queue's design load (about 1,000 next + submit requests a second) Django's middleware chain
and DRF's request machinery (content negotiation, parsers, authenticator and throttle objects,
renderers) cost more CPU than the queue's own work. This WSGI wrapper answers the common case: a
POST to one of the two endpoints from a browser session with a valid CSRF token, that the services
accept. It calls the very functions the DRF views call (``workqueue.lease.lease_next_item``,
``workqueue.submit.submit_annotation``) and Django's own session, CSRF, throttle and
security-header code, so there is one implementation of each rule. The one rule it restates is
``django.contrib.auth.get_user``'s check of a session against its user (account active, session hash
equal to the current one), because it reads the user together with what the endpoint needs in one
statement (``workqueue.selectors.queue_context``, ``workqueue.selectors.submit_context``); whatever that
check would not accept plainly, Django decides.

Everything else goes to Django untouched, with the request body put back: token clients, requests
without a session or with a bad CSRF token, a changed password or a deactivated account, a throttled user, an empty queue (its reason is
translated by the locale middleware), and any refusal or error. Every refusal of the services rolls
its transaction back, so the DRF view answers those from scratch; the DRF views stay the documented
API (OpenAPI) and the only path under the test client. Turn the lane off with ``QUEUE_FAST_LANE=0``.
"""
from __future__ import annotations

import io
import re
from importlib import import_module

import orjson
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core import signals
from django.core.handlers.wsgi import WSGIRequest
from django.db import connection
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.crypto import constant_time_compare

# Imported with the WSGI application, once the apps are loaded (config/wsgi.py); not at function level, where
# each import statement costs a look-up on every request.
from core.cache import get_and_count
from organizations.throttling import ApiTokenRateThrottle
from web.campaigns.api import MAX_IDEMPOTENCY_KEY, _assignment_out
from workqueue.lease import NoWork, lease_next_item
from workqueue.selectors import queue_context, submit_context
from workqueue.submit import submit_annotation

NEXT = re.compile(r"^/api/v1/campaigns/(\d{1,18})/next/$")
SUBMIT = re.compile(r"^/api/v1/assignments/(\d{1,18})/submit/$")
MAX_BODY = 256 * 1024  # larger answers (long SFT responses) take the regular path and its limits


class _Pass(Exception):
    """Hand this request to Django."""


class FastLane:
    def __init__(self, django_app):
        self.django = django_app
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore
        self.csrf = CsrfViewMiddleware(_unused)
        # The headers the full stack puts on every response, from the same middleware, computed once per
        # scheme (they depend on settings and on HTTPS only; django-csp rebuilt its policy string each time).
        self.header_middleware = [m(_unused) for m in (SecurityMiddleware, XFrameOptionsMiddleware, CSPMiddleware)]
        self.headers_by_scheme: dict[bool, list[tuple[str, str]]] = {}
        # Session key -> the user id it was verified for here. A key never changes owner (log-in makes a new
        # one), so the next request on it can read the session and count the user's throttle hit in one Redis
        # round trip; the session's content is still read and checked on every request.
        self.session_owners: dict[str, object] = {}
        self.pipelined = "cached_db" in settings.SESSION_ENGINE and settings.SESSION_CACHE_ALIAS == "default"
        self.auth_hashes: dict[str, str] = {}  # password hash -> session auth hash (see _session_auth_hash)

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "POST" or "HTTP_AUTHORIZATION" in environ:
            return self.django(environ, start_response)
        path = environ.get("PATH_INFO", "")
        route = NEXT.match(path) or SUBMIT.match(path)
        if route is None:
            return self.django(environ, start_response)
        body = _read_body(environ)
        if body is None:
            return self.django(environ, start_response)
        signals.request_started.send(sender=self.__class__, environ=environ)
        # No health-check query before the first statement: if the connection is dead, that statement fails,
        # request_finished below closes the connection, and Django's own path serves the request on a new one.
        connection.health_check_done = True
        try:
            response = self._serve(environ, body, route.re is NEXT, int(route.group(1)))
        except Exception:  # noqa: BLE001 - _Pass, a refusal (rolled back), a database error: Django answers it
            response = None
        finally:
            signals.request_finished.send(sender=self.__class__)
        if response is None:
            environ["wsgi.input"] = io.BytesIO(body)
            return self.django(environ, start_response)
        status, content, headers = response
        # Content-Length as CommonMiddleware sets it (no chunked encoding).
        start_response(_STATUS_LINES[status], [*headers, ("Content-Length", str(len(content)))])
        return [content]

    # --- the two endpoints ------------------------------------------------------------------
    def _serve(self, environ, body: bytes, is_next: bool, object_id: int) -> tuple[int, bytes, list]:
        """(status, JSON body, headers but Content-Length) of the answer."""
        request = WSGIRequest({**environ, "wsgi.input": io.BytesIO(body)})
        user_id = self._session_user_id(request)
        if is_next:
            data, status = self._next(request, user_id, object_id)
        else:
            data, status = self._submit(request, user_id, object_id, body)
        return status, orjson.dumps(data), self._headers(request)

    def _headers(self, request) -> list[tuple[str, str]]:
        """Content-Type, Vary and the security headers of a JSON answer, as the full stack's middleware puts
        them on it; they depend on settings and on HTTPS only, so they are computed once per scheme."""
        secure = request.is_secure()
        headers = self.headers_by_scheme.get(secure)
        if headers is None:
            probe = HttpResponse(content_type="application/json")
            probe["Vary"] = "Cookie"
            for middleware in self.header_middleware:
                probe = middleware.process_response(request, probe)
            headers = [(k, v) for k, v in probe.items() if k.lower() != "content-length"]
            self.headers_by_scheme[secure] = headers
        return headers

    def _session_user_id(self, request):
        """The signed-in user's id from the session, once the CSRF check passed; the user is read after,
        together with what the endpoint needs (``_verified``)."""
        key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if not key:
            raise _Pass
        request.session = self.session_store(key)
        owner = self.session_owners.get(key) if self.pipelined else None
        if owner is not None:
            self._read_session_and_count(request, owner)
        if request.session.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
            raise _Pass  # no session, or one Django's get_user would refuse
        self.csrf.process_request(request)
        if self.csrf.process_view(request, None, (), {}) is not None:
            raise _Pass  # Django's CSRF failure page, from the regular path
        try:
            user_id = get_user_model()._meta.pk.to_python(request.session[SESSION_KEY])
        except Exception:  # noqa: BLE001 - a tampered or stale session value: Django's path answers
            raise _Pass from None
        if user_id != owner:
            request.counted_hit = None  # counted for someone else (never expected): count again below
        return user_id

    def _read_session_and_count(self, request, user_id) -> None:
        """The session's data and this request's throttle hit for ``user_id`` in one Redis round trip; a cache
        miss leaves the session to load its usual way (from the database)."""
        throttle = ApiTokenRateThrottle()
        counter = throttle.counter(throttle.user_cache_key(user_id))
        got = get_and_count(request.session.cache_key, *counter) if counter else None
        if got is None:
            return
        data, count = got
        if data is not None:
            request.session._session_cache = data  # what SessionStore.load() would have read from the cache
        request.counted_hit = (throttle, count)

    def _verified(self, request, user):
        """Django's ``get_user`` check of the session against the user row: the account is active and the
        password unchanged since log-in. Anything else (a key-rotation fallback hash, a flush) is Django's."""
        if user is None or not user.is_active:
            raise _Pass
        if not constant_time_compare(request.session.get(HASH_SESSION_KEY) or "", self._session_auth_hash(user)):
            raise _Pass
        request.user = user
        request.auth = None
        counted = getattr(request, "counted_hit", None)
        if counted is not None:
            throttle, count = counted
            allowed = throttle.allows(count)
        else:
            allowed = ApiTokenRateThrottle().allow_request(request, None)
        if not allowed:
            raise _Pass  # 429 with Retry-After, from the regular path
        if self.pipelined:
            if len(self.session_owners) > 100_000:
                self.session_owners.clear()
            self.session_owners[request.session.session_key] = user.pk
        return user

    def _session_auth_hash(self, user) -> str:
        """``user.get_session_auth_hash()`` (an HMAC of the password hash under SECRET_KEY, both fixed for a
        process's life), computed once per password hash."""
        digest = self.auth_hashes.get(user.password)
        if digest is None:
            if len(self.auth_hashes) > 100_000:
                self.auth_hashes.clear()
            digest = self.auth_hashes[user.password] = user.get_session_auth_hash()
        return digest

    def _next(self, request, user_id, campaign_id: int) -> tuple[dict, int]:
        context = queue_context(user_id, campaign_id)  # one statement for what three reads gave
        if context is None:
            raise _Pass
        user, profile, campaign = context
        user = self._verified(request, user)
        if campaign is None:
            raise _Pass
        outcome = lease_next_item(user=user, campaign=campaign, profile=profile)
        if isinstance(outcome, NoWork):
            raise _Pass  # nothing was leased; the regular path says why, in the user's language
        return {"assignment": _assignment_out(outcome), "code": "ok", "reason": ""}, 200

    def _submit(self, request, user_id, assignment_id: int, body: bytes) -> tuple[dict, int]:
        context = submit_context(user_id, assignment_id)  # one statement for the user and the lease
        if context is None or context[1] is None:
            raise _Pass  # no such user, or not this user's assignment (404 from the regular path)
        user, lease = context
        user = self._verified(request, user)

        data = orjson.loads(body)  # malformed JSON: Django's parser answers it
        if not isinstance(data, dict) or "payload" not in data:
            raise _Pass
        time_spent = data.get("time_spent_ms", 0)
        if type(time_spent) is not int or time_spent < 0:
            raise _Pass
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 0 < len(key.strip()) <= MAX_IDEMPOTENCY_KEY:
            raise _Pass
        # A refusal raises and rolls back whole: the DRF view answers the same request from scratch.
        result = submit_annotation(
            user=user, assignment_id=assignment_id, payload=data["payload"], telemetry=data.get("telemetry"),
            time_spent_ms=time_spent, idempotency_key=key, lease=lease,
        )
        out = {"annotation_id": result.annotation.pk, "assignment_id": assignment_id, "replayed": not result.created}
        return out, 201 if result.created else 200


_STATUS_LINES = {200: "200 OK", 201: "201 Created"}


def _unused(request):  # the middleware above is only asked for process_* hooks
    raise AssertionError("not called")


def _read_body(environ) -> bytes | None:
    if environ.get("HTTP_TRANSFER_ENCODING") or "CONTENT_LENGTH" not in environ:
        return None  # a streamed body is left for Django to read
    try:
        length = int(environ["CONTENT_LENGTH"] or 0)
    except ValueError:
        return None
    if length > MAX_BODY:
        return None
    stream = environ["wsgi.input"]
    return stream.read(length) if length else b""


def wrap(django_app):
    """The WSGI application: the fast lane in front of Django unless ``QUEUE_FAST_LANE=0``."""
    if not getattr(settings, "QUEUE_FAST_LANE", True):
        return django_app
    return FastLane(django_app)
