"""``Idempotency-Key`` on the organisation API's writes: a retried request gets the first answer back.

A client that times out does not know whether its POST (create a campaign, start an import or an export,
freeze a version) was done; with the same ``Idempotency-Key`` it can send it again safely. The first
response (any status below 500 except 429) is kept for ``IDEMPOTENCY_TTL`` seconds under the key, the
principal (Authorization header or session cookie), the method and the path; a replay carries
``Idempotent-Replayed: true``. The same key with a different body is refused (422), and a second copy
arriving while the first is still running gets 409, so one key never does the work twice.
The contributor submit endpoint keeps its own, stored, idempotency (``Annotation.idempotency_key``).
"""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse

from core.api_errors import error_example

MAX_KEY = 100
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OWN_IDEMPOTENCY = ("/api/v1/assignments/",)  # stored per answer by workqueue.submit


def _ttl() -> int:
    return int(getattr(settings, "IDEMPOTENCY_TTL", 24 * 3600))


def _fingerprint(request) -> str:
    if request.content_type.startswith("multipart/"):
        # Reading a multipart body here would hold an upload of up to a gigabyte in memory: its length stands in.
        return f"multipart:{request.META.get('CONTENT_LENGTH', '')}"
    return hashlib.sha256(request.body).hexdigest()


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get("Idempotency-Key")
        if (key is None or request.method not in WRITE_METHODS or not request.path.startswith("/api/v1/")
                or request.path.startswith(OWN_IDEMPOTENCY)):
            return self.get_response(request)
        if not 0 < len(key.strip()) <= MAX_KEY:
            return JsonResponse(error_example(400, "invalid", f"Idempotency-Key must be 1 to {MAX_KEY} characters.",
                                              "Idempotency-Key"), status=400)
        principal = request.headers.get("Authorization") or request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
        if not principal:
            return self.get_response(request)  # anonymous: refused by the view anyway, nothing to replay
        ident = hashlib.sha256("\n".join((principal, request.method, request.path, key)).encode()).hexdigest()
        fingerprint = _fingerprint(request)
        stored = cache.get(f"idem:{ident}")
        if stored is not None:
            if stored["fingerprint"] != fingerprint:
                return JsonResponse(error_example(422, "idempotency_key_reused", "This Idempotency-Key was used "
                                                  "with a different request; use a new key.", "Idempotency-Key"),
                                    status=422)
            response = HttpResponse(stored["body"], status=stored["status"], content_type=stored["content_type"])
            for name, value in stored["headers"].items():
                response[name] = value
            response["Idempotent-Replayed"] = "true"
            return response
        lock = f"idem-lock:{ident}"
        if not cache.add(lock, 1, 300):
            return JsonResponse(error_example(409, "idempotency_in_progress", "A request with this Idempotency-Key "
                                              "is still being processed; retry later.", "Idempotency-Key"),
                                status=409, headers={"Retry-After": "1"})
        try:
            response = self.get_response(request)
            if response.status_code < 500 and response.status_code != 429 and not response.streaming:
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                cache.set(f"idem:{ident}", {
                    "fingerprint": fingerprint, "status": response.status_code, "body": response.content,
                    "content_type": response.get("Content-Type", "application/json"),
                    "headers": {h: response[h] for h in ("Location",) if h in response},
                }, _ttl())
        finally:
            cache.delete(lock)
        return response
