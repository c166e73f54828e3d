"""API permissions for organisation-scoped endpoints."""
from rest_framework.permissions import BasePermission

from .models import Membership
from .selectors import organization_for_request


class HasOrganization(BasePermission):
    """A token, or a staff member with a membership; ``required_scope`` on the view gates tokens."""

    message = "No organisation for these credentials."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        token = getattr(request.user, "token", None)
        if token is not None:
            scope = getattr(view, "required_scope", None)
            if scope and not token.has_scope(scope):
                self.message = f"This token lacks the scope '{getattr(scope, 'value', scope)}'."
                return False
        elif not request.user.is_staff:
            return False
        request.organization = organization_for_request(request)
        return request.organization is not None


class IsOrganizationAdmin(BasePermission):
    """A signed-in person (not a token) who is an admin of the organisation the request acts for.

    Tokens cannot manage tokens: a leaked key must not be able to mint or keep itself alive.
    """

    message = "Only an organisation admin, signed in, can manage API tokens."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated) or getattr(user, "token", None) is not None:
            return False

        membership = (
            Membership.objects.select_related("organization")
            .filter(user=user, role=Membership.Role.ADMIN).order_by("id").first()
        )
        if membership is None:
            return False
        request.organization = membership.organization
        return True
