"""Write audit rows. Services that perform security-relevant actions call ``record`` themselves."""
from __future__ import annotations

from collections.abc import Callable

from allauth.account.adapter import get_adapter
from django.core.exceptions import PermissionDenied

from .models import AuditEvent

Action = AuditEvent.Action

# How a row names a person's platform roles: the organizations app registers its role model at start-up
# (organizations/apps.py). The audit app sits below organizations in the layer order, so it does not import it.
_platform_roles_of: Callable[[object], set[str]] = lambda user: set()  # noqa: E731


def describe_platform_roles_with(platform_roles_of: Callable[[object], set[str]]) -> None:
    global _platform_roles_of
    _platform_roles_of = platform_roles_of

IDENTITY_ACTIONS = (Action.IDENTITY_VIEWED, Action.IDENTITY_DOWNLOADED, Action.PERSONAL_DATA_EXPORTED)


def _actor(by) -> tuple[object | None, str, str]:
    """(user row or None, label, role) for a person, a token principal or the system (None)."""
    if by is None:
        return None, "system", "system"
    token = getattr(by, "token", None)
    if token is not None:
        return None, f"token {token.prefix} ({token.name})", "api token"
    roles = sorted(_platform_roles_of(by))
    if by.is_superuser:
        roles.insert(0, "superuser")
    if not roles:
        roles = sorted(set(by.memberships.values_list("role", flat=True))) if by.pk else []
    return by, by.get_username(), ", ".join(roles)


def record(*, action: str, by=None, ip: str | None = None, organization=None, subject=None, target: str = "",
           detail: dict | None = None) -> AuditEvent:
    """Append one audit row; ``by`` is a user, a token principal or None (an automatic rule)."""
    actor, label, role = _actor(by)
    return AuditEvent.objects.create(
        action=action, actor=actor, actor_label=label[:200], actor_role=role[:100], ip=ip or None,
        organization_id=getattr(organization, "pk", organization), subject=subject, target=target[:200],
        detail=detail or {},
    )


def request_ip(request) -> str | None:
    """The client's IP as the log-in rate limits see it (allauth's adapter honours the trusted proxy count)."""
    if request is None:
        return None
    try:
        return get_adapter().get_client_ip(request)
    except PermissionDenied:
        return None
