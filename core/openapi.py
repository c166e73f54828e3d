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
