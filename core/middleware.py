"""Turn a lost database connection into a clean 503 instead of a 500.

Django reconnects on the next request (connections are health-checked), so the web process
recovers by itself when the database comes back.
"""
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connections
from django.http import JsonResponse


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        if isinstance(exception, DatabaseError) and not _is_connection_error(exception):
            return None
        for conn in connections.all():
            conn.close_if_unusable_or_obsolete()
        close_old_connections()
        response = JsonResponse(
            {"error": {"status": 503, "code": "database_unavailable",
                       "message": "The service is temporarily unavailable; please retry."},
             "detail": "The service is temporarily unavailable; please retry."},
            status=503,
        )
        response["Retry-After"] = "5"
        return response


def _is_connection_error(exc: Exception) -> bool:
    text = str(exc).lower()
    markers = ("connection", "server closed", "terminating", "could not connect", "shutting down", "timeout")
    return isinstance(exc, InterfaceError) or any(marker in text for marker in markers)
