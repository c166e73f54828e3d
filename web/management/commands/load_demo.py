from django.core.management.base import BaseCommand

from web.demo import DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Create the demo organisation, users and one campaign per task type (idempotent)."

    def handle(self, *args, **options):
        result = load_demo(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo ready: {len(result['campaigns'])} new campaigns."))
        self.stdout.write(
            f"Log in at http://127.0.0.1:8000/ with admin@demo.local, pm@demo.local, an@demo.local, "
            f"binh@demo.local or chi@demo.local; password: {DEMO_PASSWORD}"
        )
