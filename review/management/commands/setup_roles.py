from django.core.management.base import BaseCommand

from organizations.models import Membership
from review.roles import sync_role_groups, sync_user_roles


class Command(BaseCommand):
    help = "Create the role groups (organisation admin, project manager, reviewer, support) and sync members."

    def handle(self, *args, **options):
        for name, count in sync_role_groups().items():
            self.stdout.write(f"{name}: {count} permissions")
        users = {m.user for m in Membership.objects.select_related("user")}
        for user in users:
            sync_user_roles(user)
        self.stdout.write(f"{len(users)} members synced")
