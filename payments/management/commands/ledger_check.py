from django.core.management.base import BaseCommand, CommandError

from payments.checks import breaches


class Command(BaseCommand):
    help = "Verify the ledger's invariants from its entries; exits 1 on any breach."

    def handle(self, *args, **options):
        found = breaches()
        for line in found:
            self.stdout.write(line)
        if found:
            raise CommandError(f"{len(found)} ledger breach(es)")
        self.stdout.write("ledger clean")
