"""`Authorization: Bearer <prefix>.<secret>`: a contributor's personal token for the task API."""
import hmac

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from organizations.services import hash_token_secret

from .models import PersonalToken


class PersonalTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates as the token's person; a suspended person still gets no work (the queue checks)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        try:
            prefix, _, secret = header[1].decode().partition(".")
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token header.") from exc
        token = PersonalToken.objects.select_related("user").filter(prefix=prefix).first()
        expected = token.key_hash if token else hash_token_secret("missing")
        # Compare even when the prefix is unknown, so timing does not reveal which prefixes exist.
        if not (hmac.compare_digest(expected, hash_token_secret(secret)) and token is not None):
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.revoked_at is not None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Token revoked.")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


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
