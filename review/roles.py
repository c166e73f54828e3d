"""Organisation roles (Membership.Role) mapped to Django groups and permissions.

One group per role; a member's groups follow their memberships (signals in review/signals.py), so
granting a role is creating a Membership. `manage.py setup_roles` and every `migrate` (post_migrate)
bring the groups' permissions up to date; the demo loader relies on the same functions.
"""
from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from organizations.models import Membership

ROLE_GROUP_NAMES = {
    Membership.Role.ADMIN: "Organisation admins",
    Membership.Role.MANAGER: "Project managers",
    Membership.Role.REVIEWER: "Reviewers",
    Membership.Role.SUPPORT: "Support",
}

# (app_label, model or "*", actions). "*" as action = every permission of the model, custom ones included.
ALL = ("*",)
VIEW = ("view",)
_MANAGER = [
    ("tasks", "*", ALL),
    ("annotations", "*", ALL),
    ("review", "*", ALL),
    ("exports", "*", ALL),
    ("authenticity", "*", ("view", "change")),
    ("assets", "*", VIEW),
    ("contributors", "*", VIEW),
    ("organizations", "organization", VIEW),
    ("organizations", "membership", VIEW),
]
ROLE_PERMISSIONS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    Membership.Role.ADMIN: _MANAGER
    + [
        ("organizations", "membership", ALL),
        ("organizations", "apitoken", ALL),
        ("organizations", "organization", ("view", "change")),
    ],
    Membership.Role.MANAGER: _MANAGER,
    Membership.Role.REVIEWER: [
        ("tasks", "campaign", VIEW),
        ("tasks", "item", VIEW),
        ("annotations", "*", VIEW),
        ("authenticity", "*", VIEW),
        ("review", "reviewdecision", ("view", "add")),
        ("review", "reviewerappointment", VIEW),
    ],
    Membership.Role.SUPPORT: [
        ("tasks", "campaign", VIEW),
        ("tasks", "item", VIEW),
        ("tasks", "assignment", VIEW),
        ("annotations", "annotation", VIEW),
        ("contributors", "*", ("view", "change")),
        ("organizations", "organization", VIEW),
    ],
}


# Contributors' identity documents and device fingerprints: only support staff (who verify contributors)
# see them; organisation roles never do, even where they may view other contributor data.
PRIVATE_MODELS = {("contributors", "identitydocument"), ("contributors", "devicesighting")}


def _permissions_for(role: str):
    query = Q(pk__in=[])
    for app_label, model, actions in ROLE_PERMISSIONS[role]:
        scope = Q(content_type__app_label=app_label)
        if model != "*":
            scope &= Q(content_type__model=model)
        if actions != ALL:
            action_q = Q(pk__in=[])
            for action in actions:
                action_q |= Q(codename__startswith=f"{action}_")
            scope &= action_q
        query |= scope
    permissions = Permission.objects.filter(query)
    if role != Membership.Role.SUPPORT:
        for app_label, model in PRIVATE_MODELS:
            permissions = permissions.exclude(content_type__app_label=app_label, content_type__model=model)
    return permissions


def role_group(role: str) -> Group:
    """The group of one role, created with its permissions if missing."""
    group, created = Group.objects.get_or_create(name=ROLE_GROUP_NAMES[role])
    if created:
        group.permissions.set(_permissions_for(role))
    return group


def sync_role_groups() -> dict[str, int]:
    """Create the role groups and set their permissions; returns permissions per group."""
    counts = {}
    for role, name in ROLE_GROUP_NAMES.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = list(_permissions_for(role))
        group.permissions.set(perms)
        counts[name] = len(perms)
    return counts


def sync_user_roles(user) -> None:
    """Put a user in exactly the role groups of their memberships; members get admin (staff) access."""
    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    wanted = {role_group(role) for role in roles}
    role_groups = Group.objects.filter(name__in=ROLE_GROUP_NAMES.values())
    for group in role_groups:
        if group not in wanted:
            user.groups.remove(group)
    if wanted:
        user.groups.add(*wanted)
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
