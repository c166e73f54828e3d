"""Exceptions of the client. Every server refusal is an ``APIError`` carrying the server's error body:
``status``, ``code``, ``message``, ``field`` (the offending field, e.g. ``split.train``) and ``fields``
(every field's messages). The CLI maps the classes to its exit codes (see ``vnannotate.cli``)."""
from __future__ import annotations

from typing import Any


class VNAnnotateError(Exception):
    """Base class of everything this package raises."""


class APIError(VNAnnotateError):
    """The server answered with an error status."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 fields: dict[str, Any] | None = None, method: str = "", url: str = ""):
        self.status, self.code, self.message = status, code, message
        self.field, self.fields = field, fields or {}
        self.method, self.url = method, url
        where = f" ({method} {url})" if method else ""
        subject = f"{field}: " if field else ""
        super().__init__(f"HTTP {status} {code}: {subject}{message}{where}")


class AuthenticationError(APIError):
    """401: the token is missing, wrong, revoked or expired."""


class PermissionDenied(APIError):
    """403: the token's scopes do not allow this action."""


class NotFound(APIError):
    """404: no such object in your organisation (another organisation's objects are 404 too)."""


class ValidationError(APIError):
    """400/422: the request was refused; ``field`` and ``fields`` name what to fix."""


class Conflict(APIError):
    """409: not possible in the object's current state (e.g. an export still running)."""


class RateLimited(APIError):
    """429 after every retry."""


class ServerError(APIError):
    """5xx after every retry."""


class NetworkError(VNAnnotateError):
    """The server could not be reached, or the connection dropped, after every retry."""


class DownloadError(VNAnnotateError):
    """A download did not complete; the partial file was removed."""


class ChecksumError(DownloadError):
    """A downloaded file's SHA-256 differs from the server's; the file was removed."""


class JobFailed(VNAnnotateError):
    """An import or export job ended in failure; ``job`` is its last status, ``errors`` the bad lines."""

    def __init__(self, message: str, job: dict | None = None):
        self.job = job or {}
        self.errors = self.job.get("errors", [])
        super().__init__(message)


def error_for(status: int, body: Any, method: str, url: str) -> APIError:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code, message = str(error.get("code", "error")), str(error.get("message", ""))
        field, fields = error.get("field") or None, error.get("fields") or {}
    else:
        code, message, field, fields = "error", (str(body)[:500] if body else ""), None, {}
    cls = {401: AuthenticationError, 403: PermissionDenied, 404: NotFound, 400: ValidationError,
           422: ValidationError, 409: Conflict, 429: RateLimited}.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIError
    return cls(status, code, message or f"HTTP {status}", field=field, fields=fields, method=method, url=url)
