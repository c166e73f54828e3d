"""Writes for organisations and API tokens."""
import hashlib
import secrets
from datetime import datetime

from django.utils import timezone

from .models import ApiToken, Organization


def hash_token_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(
    *, organization: Organization, name: str, scopes: list[str], created_by=None, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns it and the plain key, which is never stored and shown only once."""
    valid = {choice for choice, _ in ApiToken.Scope.choices}
    unknown = set(scopes) - valid
    if unknown:
        raise ValueError(f"unknown scopes: {sorted(unknown)}")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organization=organization,
        name=name,
        prefix=prefix,
        key_hash=hash_token_secret(secret),
        scopes=list(scopes),
        created_by=created_by,
        expires_at=expires_at,
    )
    return token, f"{prefix}.{secret}"


def revoke_api_token(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
