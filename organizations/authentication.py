"""`Authorization: Token <prefix>.<secret>` for organisation API tokens, and the prefixed-token check the
contributors' personal tokens share (tasks/authentication.py)."""
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


class PrefixedTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: <keyword> <prefix>.<secret>`: the row found by prefix, its secret's hash compared.

    Subclasses name the token model (fields ``prefix``, ``key_hash``, ``last_used_at``), what to
    select with it, when a matching token is refused, and the request.user it stands for.
    """

    keyword: str
    model: type
    select_related: str

    def refusal(self, token) -> str | None:
        """Why a token whose secret matched is refused, or None."""
        raise NotImplementedError

    def user_for(self, token):
        raise NotImplementedError

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
        token = self.model.objects.select_related(self.select_related).filter(prefix=prefix).first()
        expected = token.key_hash if token else hash_token_secret("missing")
        # Compare even when the prefix is unknown, so timing does not reveal which prefixes exist.
        if not (hmac.compare_digest(expected, hash_token_secret(secret)) and token is not None):
            raise exceptions.AuthenticationFailed("Invalid token.")
        refusal = self.refusal(token)
        if refusal:
            raise exceptions.AuthenticationFailed(refusal)
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            self.model.objects.filter(pk=token.pk).update(last_used_at=now)
        return self.user_for(token), token

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiTokenAuthentication(PrefixedTokenAuthentication):
    keyword = "Token"
    model = ApiToken
    select_related = "organization"

    def refusal(self, token: ApiToken) -> str | None:
        return None if token.is_active else "Token revoked or expired."

    def user_for(self, token: ApiToken) -> OrganizationTokenUser:
        return OrganizationTokenUser(token)
