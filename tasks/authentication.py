"""`Authorization: Bearer <prefix>.<secret>`: a contributor's personal token for the task API."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension

from organizations.authentication import PrefixedTokenAuthentication

from .models import PersonalToken


class PersonalTokenAuthentication(PrefixedTokenAuthentication):
    """Authenticates as the token's person; a suspended person still gets no work (the queue checks)."""

    keyword = "Bearer"
    model = PersonalToken
    select_related = "user"

    def refusal(self, token: PersonalToken) -> str | None:
        return "Token revoked." if token.revoked_at is not None or not token.user.is_active else None

    def user_for(self, token: PersonalToken):
        return token.user


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    """How the API docs describe personal tokens (registered when this module is imported)."""

    target_class = "tasks.authentication.PersonalTokenAuthentication"
    name = "PersonalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A contributor's personal token: `Authorization: Bearer <prefix>.<secret>` "
            "(created at POST /api/v1/personal-tokens/ while signed in; shown once).",
        }
