from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    """Earnings ledger, earning rules, budgets, payouts (docs/architecture.md, "Payments")."""

    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        # Registered, not imported from below: consensus sits under payments in the layer order.
        from consensus.engine import register_outcome_listener

        from .earnings import settle_items

        register_outcome_listener(settle_items)
