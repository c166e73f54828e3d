"""Organisation roles (Membership.Role) mapped to Django groups and permissions.

One group per role; a member's groups follow their memberships (signals in review/signals.py), so
granting a role is creating a Membership. `manage.py setup_roles` and every `migrate` (post_migrate)
bring the groups' permissions up to date; the demo loader relies on the same functions.
"""
from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from organizations.access import ACTION_PERMISSIONS, PLATFORM_ROLE_GROUP_NAMES, ROLE_ACTIONS
from organizations.models import Membership

ROLE_GROUP_NAMES = {
    Membership.Role.ADMIN: "Organisation admins",
    Membership.Role.MANAGER: "Project managers",
    Membership.Role.REVIEWER: "Reviewers",
    Membership.Role.SUPPORT: "Support",
}
# Platform roles are groups a superuser gives to the platform's own staff (never through a membership).
ALL_GROUP_NAMES = {**ROLE_GROUP_NAMES, **PLATFORM_ROLE_GROUP_NAMES}

# Each role's Django permissions are generated from the one permission model (organizations.access):
# the role's actions, each opening (app_label, model or "*", actions) in the admin. "*" as action = every
# permission of the model, custom ones included. Organisation roles never reach contributors' data;
# platform roles (granted by a superuser, see PLATFORM_ROLE_GROUP_NAMES) are the only way there.
ALL = ("*",)
VIEW = ("view",)
ROLE_PERMISSIONS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    role: [entry for action in sorted(actions) for entry in ACTION_PERMISSIONS[action]]
    for role, actions in ROLE_ACTIONS.items()
}


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
    return Permission.objects.filter(query)


def role_group(role: str) -> Group:
    """The group of one role (organisation or platform), created with its permissions if missing."""
    group, created = Group.objects.get_or_create(name=ALL_GROUP_NAMES[role])
    if created:
        group.permissions.set(_permissions_for(role))
    return group


def sync_role_groups() -> dict[str, int]:
    """Create the role groups and set their permissions; returns permissions per group."""
    counts = {}
    for role, name in ALL_GROUP_NAMES.items():
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
