"""API permissions for organisation-scoped endpoints: every principal asks ``organizations.access``."""
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .access import ROLE_ACTIONS, SCOPE_ACTIONS, Action, allows
from .models import Membership
from .selectors import organization_for_request


def required_action(view, request) -> Action | None:
    """The action a view declares for this request: ``required_action`` is an Action, or a dict
    ``{"read": Action, "write": Action}`` (safe methods read), or a dict keyed by HTTP method."""
    declared = getattr(view, "required_action", None)
    if isinstance(declared, dict):
        method = request.method.upper()
        if method in declared:
            return declared[method]
        return declared.get("read" if method in SAFE_METHODS else "write")
    return declared


class HasOrganization(BasePermission):
    """A token, or a signed-in member; the view's ``required_action`` must be allowed to the token's scopes
    or to the member's role in the organisation (organizations.access). No declared action: refused."""

    message = "No organisation for these credentials."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        request.organization = organization_for_request(request)
        if request.organization is None:
            return False
        action = required_action(view, request)
        if action is None or not allows(request.user, action, request.organization):
            scopes = [scope for scope, actions in SCOPE_ACTIONS.items() if action in actions]
            if action is None:
                self.message = "This route declares no action."
            elif getattr(request.user, "token", None) is not None and scopes:
                self.message = f"This token lacks the scope '{scopes[0]}'."
            else:
                self.message = f"Your role may not do '{action}' here."
            return False
        return True


class IsOrganizationAdmin(BasePermission):
    """A signed-in person (not a token) whose role may manage tokens in the organisation the request acts for.

    Tokens cannot manage tokens: a leaked key must not be able to mint or keep itself alive.
    """

    message = "Only an organisation admin, signed in, can manage API tokens."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated) or getattr(user, "token", None) is not None:
            return False
        roles = [role for role, actions in ROLE_ACTIONS.items() if Action.TOKENS in actions]
        membership = (
            Membership.objects.select_related("organization")
            .filter(user=user, role__in=roles).order_by("id").first()
        )
        if membership is None:
            return False
        request.organization = membership.organization
        return True
