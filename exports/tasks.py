"""Celery jobs of the export app (queue ``export``, routed in settings): builds and webhook deliveries."""
from celery import shared_task

from . import services, webhooks


@shared_task(acks_late=True)
def build_export(export_id: int) -> str:
    return services.run_export(export_id).status


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> str:
    """One attempt; a failure schedules the next attempt with exponential back-off (countdown)."""
    delivery, retry_in = webhooks.attempt_delivery(delivery_id)
    if retry_in is not None:
        deliver_webhook.apply_async((delivery_id,), countdown=retry_in)
    return delivery.status if delivery else "gone"
