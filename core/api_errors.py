"""One error body for the whole API: {"error": {"status", "code", "message", "field"?, "fields"?}}."""
from django.core.exceptions import ObjectDoesNotExist
from django.db import DataError
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.schema import SchemaError


def error_response(status_code: int, code: str, message: str, **extra) -> Response:
    body = {"status": status_code, "code": code, "message": message, **extra}
    return Response({"error": body, "detail": message}, status=status_code)


def exception_handler(exc, context):
    if isinstance(exc, SchemaError):
        extra = {"errors": exc.errors} if len(exc.errors) > 1 else {}
        return error_response(400, "invalid", exc.message, field=exc.field, **extra)
    if isinstance(exc, DataError):
        # PostgreSQL refused a value (NUL byte in text, a date out of its range...): the input is bad.
        return error_response(400, "invalid", "A value in this request cannot be stored or searched for "
                              "(e.g. a NUL character or a date out of range).")
    if isinstance(exc, ObjectDoesNotExist):
        exc = Http404()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.ValidationError):
        data = response.data
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        first_field = next(iter(fields), "")
        first = fields.get(first_field)
        message = str(first[0] if isinstance(first, list) and first else first)
        return error_response(response.status_code, "invalid", message, field=first_field, fields=fields)
    if isinstance(exc, Http404):
        return error_response(status.HTTP_404_NOT_FOUND, "not_found", "Not found.")
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else str(response.data)
    error = error_response(response.status_code, str(getattr(detail, "code", code)), str(detail))
    for header in ("WWW-Authenticate", "Retry-After"):
        if header in response:
            error[header] = response[header]
    return error


class _ErrorDetail(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The offending field, e.g. `split.train`.")
    fields = serializers.DictField(required=False)
    errors = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()), required=False,
        help_text="Every problem found when there are several: [{field, message}], the first as above.")


class ErrorBody(serializers.Serializer):
    """The documented error body (for OpenAPI responses)."""

    error = _ErrorDetail()
    detail = serializers.CharField()


def error_example(status_code: int, code: str, message: str, field: str | None = None) -> dict:
    error = {"status": status_code, "code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error, "detail": message}


def not_found(request, exception=None):
    """handler404: a path under /api/ that matches no route (e.g. a non-numeric id) answers the API's error
    body, as documented, rather than the site's HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_example(404, "not_found", "Not found."), status=404)
    return page_not_found(request, exception)
