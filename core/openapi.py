"""OpenAPI description of the organisation token authentication (drf-spectacular extension)."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "organizations.authentication.ApiTokenAuthentication"
    name = "OrganizationToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Organisation API token: `Authorization: Token <prefix>.<secret>` (shown once at creation).",
        }


_REFUSALS = {
    "401": "Not signed in, or the token is unknown, revoked or expired",
    "403": "Signed in, but this principal's role or token scopes do not allow the action (organizations.access), "
           "or the session request lacks its CSRF token",
}
_NOT_FOUND = "No such object in your organisation (another organisation's objects are not found either)"


def document_refusals(result, generator, request, public):
    """drf-spectacular post-processing hook: every authenticated operation documents 401 and 403, and every
    operation with a path parameter 404, with the API's one error body, unless it documents them itself."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorBody", {
        "type": "object", "required": ["error", "detail"],
        "properties": {"error": {"type": "object", "required": ["status", "code", "message"], "properties": {
            "status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"},
            "field": {"type": "string"}, "fields": {"type": "object", "additionalProperties": {}}}},
            "detail": {"type": "string"}},
    })
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if operation.get("security", result.get("security")):
                for code, description in _REFUSALS.items():
                    responses.setdefault(code, {"description": description, "content": body})
            if "{" in path:
                responses.setdefault("404", {"description": _NOT_FOUND, "content": body})
    return result
