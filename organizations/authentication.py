"""`Authorization: Token <prefix>.<secret>` for organisation API tokens."""
import hmac

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken
from .services import hash_token_secret


class OrganizationTokenUser(AnonymousUser):
    """The request.user of a token request: authenticated, belongs to no person."""

    def __init__(self, token: ApiToken):
        super().__init__()
        self.token = token
        self.organization = token.organization

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    def __str__(self) -> str:
        return f"token:{self.token.prefix}"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        try:
            key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token header.") from exc
        prefix, _, secret = key.partition(".")
        token = ApiToken.objects.select_related("organization").filter(prefix=prefix).first()
        expected = token.key_hash if token else hash_token_secret("missing")
        if not (hmac.compare_digest(expected, hash_token_secret(secret)) and token is not None):
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.is_active:
            raise exceptions.AuthenticationFailed("Token revoked or expired.")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return OrganizationTokenUser(token), token

    def authenticate_header(self, request) -> str:
        return self.keyword
