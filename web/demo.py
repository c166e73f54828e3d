"""Demo data: an organisation, a manager, three contributors and a campaign of every task type.

Each task type module supplies its own demo campaigns (TaskType.demo), so a new type shows up
in the demo without touching this file.
"""
from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from contributors.demo import load_demo_qualifications
from contributors.models import ContributorProfile
from organizations.models import Membership, Organization
from review.roles import sync_role_groups
from tasks.models import Campaign, Item
from tasks.services import create_campaign, new_item
from tasks.types import all_task_types

DEMO_PASSWORD = "demo-password-2025"
CONTRIBUTORS = [
    ("an@demo.local", "Nguyễn Văn An", 1995, "male", "north", "Thành phố Hà Nội", "north"),
    ("binh@demo.local", "Trần Thị Bình", 1988, "female", "central", "Thành phố Huế", "central"),
    ("chi@demo.local", "Lê Minh Chi", 2000, "female", "south", "Thành phố Hồ Chí Minh", "south"),
]


def _user(email: str, *, staff: bool = False, superuser: bool = False):
    User = get_user_model()
    user, created = User.objects.get_or_create(username=email, defaults={"email": email})
    if created:
        user.set_password(DEMO_PASSWORD)
    user.is_staff = staff or superuser
    user.is_superuser = superuser
    user.save()
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def managers_group() -> Group:
    """The project managers' role group (permissions defined in review.roles, synced on every migrate)."""

    sync_role_groups()
    return Group.objects.get(name="Project managers")


@transaction.atomic
def load_demo(*, stdout=None) -> dict:
    org, _ = Organization.objects.get_or_create(slug="demo-ai", defaults={"name": "Demo AI Lab"})
    admin = _user("admin@demo.local", superuser=True)
    manager = _user("pm@demo.local", staff=True)
    manager.groups.add(managers_group())
    Membership.objects.get_or_create(organization=org, user=manager, defaults={"role": Membership.Role.MANAGER})
    Membership.objects.get_or_create(organization=org, user=admin, defaults={"role": Membership.Role.ADMIN})
    contributors = []
    for email, name, year, gender, region, province, dialect in CONTRIBUTORS:
        user = _user(email)
        ContributorProfile.objects.update_or_create(
            user=user,
            defaults={
                "display_name": name, "birth_year": year, "gender": gender, "region": region,
                "province": province, "dialect": dialect, "languages": ["vi"], "device_type": "phone",
                "consent_version": "2025-1", "consent_at": timezone.now(),
            },
        )
        contributors.append(user)

    load_demo_qualifications(contributors)
    created = []
    for task in all_task_types():
        for spec in task.demo():
            if Campaign.objects.filter(organization=org, name=spec.name).exists():
                continue
            campaign = create_campaign(
                organization=org, name=spec.name, task_type=task.key, config=spec.config,
                instructions=spec.instructions, created_by=manager, **spec.extra,
            )
            Item.objects.bulk_create(
                new_item(
                    campaign,
                    payload=task.validate_item(entry["payload"], campaign.config),
                    gold_answer=entry.get("gold_answer"),
                    external_id=entry.get("external_id", ""),
                )
                for entry in spec.items
            )
            campaign.status = Campaign.Status.ACTIVE
            campaign.save(update_fields=["status"])
            created.append(campaign)
            if stdout:
                stdout.write(f"  campaign {campaign.pk}: {campaign.name} ({task.key}, {len(spec.items)} items)")
    return {"organization": org, "manager": manager, "contributors": contributors, "campaigns": created}
