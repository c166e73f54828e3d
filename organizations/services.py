"""Writes for organisations and API tokens."""
import hashlib
import secrets
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audit.services import Action as Audit
from audit.services import record

from .access import PLATFORM_ROLE_GROUP_NAMES
from .models import ApiToken, Membership, Organization


def hash_token_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_api_token(
    *, organization: Organization, name: str, scopes: list[str], created_by=None, expires_at: datetime | None = None,
    ip: str | None = None,
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
    record(action=Audit.TOKEN_CREATED, by=created_by, ip=ip, organization=organization,
           target=f"organizations.apitoken:{token.pk}", detail={"name": name, "prefix": prefix, "scopes": list(scopes)})
    return token, f"{prefix}.{secret}"


@transaction.atomic
def revoke_api_token(*, token: ApiToken, by=None, ip: str | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(action=Audit.TOKEN_REVOKED, by=by, ip=ip, organization=token.organization_id,
               target=f"organizations.apitoken:{token.pk}", detail={"name": token.name, "prefix": token.prefix})


# --- roles: granting a role is a membership (review.roles keeps the member's groups in step) ----------


@transaction.atomic
def save_membership(*, membership: Membership, by=None, ip: str | None = None) -> Membership:
    """Grant a role or change it; audited with the role before and after."""
    before = None
    if membership.pk:
        before = Membership.objects.filter(pk=membership.pk).values_list("role", flat=True).first()
    if before == membership.role and membership.pk:
        membership.save()
        return membership
    membership.save()
    record(action=Audit.ROLE_CHANGED if before else Audit.ROLE_GRANTED, by=by, ip=ip,
           organization=membership.organization_id, subject=membership.user,
           target=f"organizations.membership:{membership.pk}", detail={"from": before, "to": membership.role})
    return membership


@transaction.atomic
def withdraw_membership(*, membership: Membership, by=None, ip: str | None = None) -> None:
    record(action=Audit.ROLE_REVOKED, by=by, ip=ip, organization=membership.organization_id,
           subject=membership.user, target=f"organizations.membership:{membership.pk}",
           detail={"from": membership.role, "to": None})
    membership.delete()


def platform_roles_held(user_id: int | None) -> list[str]:
    """The platform roles an account carries, read from the database: its platform staff groups, and
    "superuser" (which may do everything). Whether the account is staff right now does not matter here."""
    if not user_id:
        return []
    account = get_user_model().objects.filter(pk=user_id).values("is_superuser").first()
    if account is None:
        return []
    names = set(get_user_model().groups.through.objects.filter(
        user_id=user_id, group__name__in=PLATFORM_ROLE_GROUP_NAMES.values()).values_list("group__name", flat=True))
    roles = sorted(str(role) for role, name in PLATFORM_ROLE_GROUP_NAMES.items() if name in names)
    return (["superuser"] if account["is_superuser"] else []) + roles


def record_platform_roles_change(*, user, before: list[str], by=None, ip: str | None = None) -> bool:
    """Audit a change of a person's platform roles (``before`` read with ``platform_roles_held`` before the
    save); called by whatever saved the account's groups. Returns whether anything changed."""
    after = platform_roles_held(user.pk)
    if after == before:
        return False
    record(action=Audit.PLATFORM_ROLES_CHANGED, by=by, ip=ip, subject=user, target=f"auth.user:{user.pk}",
           detail={"from": before, "to": after, "granted": sorted(set(after) - set(before)),
                   "withdrawn": sorted(set(before) - set(after))})
    return True
