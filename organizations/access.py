"""The one permission model: roles and token scopes → allowed actions.

Every door asks this module: the organisation API (session and token principals alike, through
``organizations.permissions``), the admin (its role groups' Django permissions are generated from
``ACTION_PERMISSIONS`` by ``review.roles``, and its custom views call ``allows``) and the HTML console.

Organisation roles (``Membership.Role``) are the customer's; they never reach contributors' personal
data. Platform roles (``PlatformRole``) are the platform's own staff, granted only by a superuser as a
Django group, and are the only way to contributors' identity documents, contact details, IPs and devices.
"""
from __future__ import annotations

from enum import StrEnum

from .models import ApiToken, Membership


class Action(StrEnum):
    # Organisation actions (scoped to one organisation).
    VIEW = "campaigns.view"  # campaigns, items, annotations, consensus, quality, authenticity reports, exports list
    MANAGE_CAMPAIGNS = "campaigns.manage"  # create/change/delete campaigns, items, imports, media, authenticity
    RESCORE = "consensus.rescore"  # start a re-score of a campaign's consensus
    EXPORT = "exports.request"  # request and download an export (the organisation's data leaves)
    WEBHOOKS = "webhooks.manage"  # list, register, change, delete webhooks
    REVIEW = "review.decide"  # accept/reject/correct answers, authenticity verdicts
    MEMBERS = "members.manage"  # grant and withdraw organisation roles
    TOKENS = "tokens.manage"  # create and revoke API tokens (signed-in people only)
    # Platform actions (contributors belong to the platform, not to a customer).
    CONTRIBUTOR_IDENTITY = "contributors.identity"  # identity documents, e-mail, name, phone, IPs, devices
    CONTRIBUTOR_MODERATE = "contributors.moderate"  # suspend, ban, reinstate, fraud signals, qualifications
    CONTRIBUTOR_PRIVACY = "contributors.privacy"  # export and erase a contributor's personal data
    AUDIT = "audit.view"  # read and export the audit log
    FINANCE = "payments.finance"  # the ledger, payout batches, bank files and reconciliation


class PlatformRole(StrEnum):
    TRUST_SAFETY = "trust_safety"
    PRIVACY_OFFICER = "privacy_officer"
    FINANCE = "finance"


_CUSTOMER_VIEW = {Action.VIEW}
_MANAGER = {Action.VIEW, Action.MANAGE_CAMPAIGNS, Action.RESCORE, Action.EXPORT, Action.WEBHOOKS, Action.REVIEW}

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Membership.Role.ADMIN: frozenset(_MANAGER | {Action.MEMBERS, Action.TOKENS}),
    Membership.Role.MANAGER: frozenset(_MANAGER),
    Membership.Role.REVIEWER: frozenset(_CUSTOMER_VIEW | {Action.REVIEW}),
    Membership.Role.SUPPORT: frozenset(_CUSTOMER_VIEW),
    PlatformRole.TRUST_SAFETY: frozenset({Action.CONTRIBUTOR_IDENTITY, Action.CONTRIBUTOR_MODERATE}),
    PlatformRole.PRIVACY_OFFICER: frozenset({Action.CONTRIBUTOR_IDENTITY, Action.CONTRIBUTOR_PRIVACY, Action.AUDIT}),
    PlatformRole.FINANCE: frozenset({Action.FINANCE}),
}

# A token stands for a pipeline, not a person: its scopes grant organisation actions, never members or tokens.
SCOPE_ACTIONS: dict[str, frozenset[Action]] = {
    ApiToken.Scope.READ_DATASETS: frozenset({Action.VIEW, Action.EXPORT}),
    ApiToken.Scope.MANAGE_CAMPAIGNS: frozenset({Action.MANAGE_CAMPAIGNS, Action.RESCORE, Action.WEBHOOKS}),
}

PLATFORM_ROLE_GROUP_NAMES = {
    PlatformRole.TRUST_SAFETY: "Platform: trust and safety",
    PlatformRole.PRIVACY_OFFICER: "Platform: privacy officers",
    PlatformRole.FINANCE: "Platform: finance",
}
PLATFORM_ACTIONS = frozenset({Action.CONTRIBUTOR_IDENTITY, Action.CONTRIBUTOR_MODERATE, Action.CONTRIBUTOR_PRIVACY,
                              Action.AUDIT, Action.FINANCE})

# What each action opens in the admin: (app_label, model or "*", permission actions or ("*",)).
# review.roles turns a role's actions into its group's Django permissions from this table.
ACTION_PERMISSIONS: dict[Action, list[tuple[str, str, tuple[str, ...]]]] = {
    Action.VIEW: [
        ("tasks", "campaign", ("view",)), ("tasks", "item", ("view",)), ("tasks", "assignment", ("view",)),
        ("tasks", "importjob", ("view",)), ("annotations", "*", ("view",)), ("authenticity", "*", ("view",)),
        ("review", "*", ("view",)), ("exports", "export", ("view",)),
        ("exports", "datasetversion", ("view",)), ("assets", "*", ("view",)),
        ("organizations", "organization", ("view",)), ("organizations", "membership", ("view",)),
        ("payments", "earning", ("view",)),  # the cost view: pay and fee per answer, never bank details
        ("payments", "bonus", ("view",)), ("payments", "bonusrule", ("view",)),
        ("assist", "*", ("view",)),  # model backends' settings, health and suggestions (never the token)
    ],
    Action.MANAGE_CAMPAIGNS: [
        ("tasks", "*", ("*",)), ("annotations", "*", ("*",)), ("authenticity", "*", ("*",)),
        ("review", "reviewerappointment", ("*",)),
        ("payments", "bonusrule", ("*",)), ("payments", "bonus", ("view", "add")),
        ("assist", "*", ("*",)),
    ],
    Action.RESCORE: [("annotations", "consensusjob", ("*",))],
    Action.EXPORT: [("exports", "export", ("*",)), ("exports", "datasetversion", ("*",))],
    Action.WEBHOOKS: [("exports", "webhook", ("*",)), ("exports", "webhookdelivery", ("*",))],
    Action.REVIEW: [("review", "reviewdecision", ("view", "add")), ("review", "dispute", ("view", "change"))],
    Action.MEMBERS: [("organizations", "membership", ("*",)), ("organizations", "organization", ("view", "change"))],
    Action.TOKENS: [("organizations", "apitoken", ("*",))],
    Action.CONTRIBUTOR_IDENTITY: [("contributors", "*", ("view",))],
    Action.CONTRIBUTOR_MODERATE: [
        ("contributors", "contributorprofile", ("view", "change")), ("contributors", "fraudsignal", ("*",)),
        ("contributors", "identitydocument", ("view", "change")), ("contributors", "qualification", ("*",)),
        ("contributors", "qualificationtest", ("*",)), ("contributors", "qualificationitem", ("*",)),
        ("review", "dispute", ("view", "change")),  # contests of suspensions (review.disputes scopes the rows)
    ],
    Action.CONTRIBUTOR_PRIVACY: [("contributors", "contributorprofile", ("view", "change", "delete"))],
    Action.AUDIT: [("audit", "*", ("view",))],
    Action.FINANCE: [("payments", "*", ("view",)), ("payments", "payoutbatch", ("*",)), ("payments", "payout", ("*",))],
}


def role_allows(role: str | None, action: Action) -> bool:
    return role is not None and action in ROLE_ACTIONS.get(role, frozenset())


def token_allows(token: ApiToken, action: Action) -> bool:
    return any(action in SCOPE_ACTIONS.get(scope, frozenset()) for scope in token.scopes)


def platform_roles_of(user) -> set[str]:
    """The platform roles of a signed-in person (Django groups a superuser grants)."""
    if not (user and user.is_authenticated and user.is_staff) or getattr(user, "token", None) is not None:
        return set()
    cached = getattr(user, "_platform_roles", None)
    if cached is None:
        names = set(user.groups.filter(name__in=PLATFORM_ROLE_GROUP_NAMES.values()).values_list("name", flat=True))
        cached = {role for role, name in PLATFORM_ROLE_GROUP_NAMES.items() if name in names}
        user._platform_roles = cached
    return cached


def membership_role(user, organization) -> str | None:
    if organization is None or not (user and user.is_authenticated) or getattr(user, "token", None) is not None:
        return None
    org_id = getattr(organization, "pk", organization)
    cache = getattr(user, "_membership_roles", None)
    if cache is None:
        cache = dict(Membership.objects.filter(user=user).values_list("organization_id", "role"))
        user._membership_roles = cache
    return cache.get(org_id)


def allows(user, action: Action, organization=None) -> bool:
    """May this principal (person or token) do ``action`` (in ``organization`` for organisation actions)?

    Superusers may do everything. Platform actions come from platform roles only; organisation actions
    from the person's role in that organisation, or the token's scopes (a token acts only for its own).
    """
    if not (user and user.is_authenticated):
        return False
    token = getattr(user, "token", None)
    if token is not None:
        if action in PLATFORM_ACTIONS:
            return False
        own = organization is None or getattr(organization, "pk", organization) == token.organization_id
        return own and token_allows(token, action)
    if user.is_superuser:
        return True
    if action in PLATFORM_ACTIONS:
        return any(role_allows(role, action) for role in platform_roles_of(user))
    return role_allows(membership_role(user, organization), action)
