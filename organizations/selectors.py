"""Reads that decide which organisation a request acts for."""
from .models import Organization


def organization_for_request(request) -> Organization | None:
    """The token's organisation, or the first organisation of a staff member's membership."""
    org = getattr(request.user, "organization", None)
    if org is not None:
        return org
    if request.user.is_authenticated:
        membership = request.user.memberships.select_related("organization").first()
        if membership:
            return membership.organization
    return None


def organizations_for_user(user):
    if user.is_superuser:
        return Organization.objects.all()
    return Organization.objects.filter(memberships__user=user)
