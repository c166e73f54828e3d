"""Organisation webhooks: HMAC-signed POSTs, retried with back-off, never to private addresses.

SSRF defence: the host name is resolved once, every address is checked (private, loopback,
link-local — which covers the 169.254.169.254 metadata service —, multicast, reserved, unspecified,
carrier-grade NAT, IPv4-mapped IPv6), and the connection is made to the checked address itself
(TLS still verifies the certificate for the host name), so a DNS answer that changes between the
check and the connect cannot redirect the request. Redirects are not followed: a 3xx is a failed
attempt. ``WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True`` (tests, on-premises deployments) lifts the check.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import certifi
import orjson
import urllib3
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import tasks  # the module: its jobs call back into webhooks
from .models import Webhook, WebhookDelivery

SIGNATURE_HEADER = "X-Webhook-Signature"
USER_AGENT = "vn-annotate-webhooks/1"
METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
                      ipaddress.ip_address("100.100.100.200")}
CGNAT = ipaddress.ip_network("100.64.0.0/10")


class UnsafeURL(ValueError):
    """The URL may not be called: scheme, port or an address that is not public."""


def _allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False))


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
        or ip.is_unspecified or ip in METADATA_ADDRESSES or (ip.version == 4 and ip in CGNAT)
    )


def check_url(url: str) -> None:
    """Syntax-level check for registration: http(s), a host, no credentials."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise UnsafeURL(f"Not a usable URL: {exc}.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("Use an http:// or https:// URL with a host name.")
    if parts.username or parts.password:
        raise UnsafeURL("Do not put credentials in the URL; verify the signature header instead.")
    if not _allow_private():
        if parts.scheme != "https" and not getattr(settings, "WEBHOOK_ALLOW_HTTP", False):
            raise UnsafeURL("Use an https:// URL.")
        try:
            if not address_is_public(parts.hostname):
                raise UnsafeURL("Private, loopback and link-local addresses are not allowed.")
        except ValueError as exc:
            if isinstance(exc, UnsafeURL):
                raise


def resolve_public(host: str, port: int) -> str:
    """Resolve ``host`` and return one address to connect to, refusing any non-public answer."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeURL(f"Cannot resolve {host}: {exc}") from exc
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise UnsafeURL(f"{host} has no address.")
    if not _allow_private() and not all(address_is_public(a) for a in addresses):
        raise UnsafeURL(f"{host} resolves to a private, loopback or link-local address.")
    return addresses[0]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>`` (Stripe-style: replay window + integrity)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> int:
    """POST to the checked address of ``url``; returns the status code. Raises UnsafeURL or urllib3 errors."""
    check_url(url)
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    address = resolve_public(parts.hostname, port)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    kwargs: dict = {"timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False, "maxsize": 1}
    if https:
        kwargs.update(cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(), server_hostname=parts.hostname,
                      assert_hostname=parts.hostname)
        pool = urllib3.HTTPSConnectionPool(address, port, **kwargs)
    else:
        pool = urllib3.HTTPConnectionPool(address, port, **kwargs)
    try:
        response = pool.urlopen("POST", path, body=body, headers={**headers, "Host": host_header},
                                redirect=False, preload_content=False, assert_same_host=False)
        response.read(64 * 1024, decode_content=False)  # read a little, never an unbounded body
        response.release_conn()
        return response.status
    finally:
        pool.close()


def notify(*, organization, event: str, object_id: int, data: dict, key: str = "") -> list[WebhookDelivery]:
    """Queue one delivery per interested webhook; a repeated trigger for the same object (and ``key``, e.g. a
    progress milestone) sends nothing new."""
    deliveries = []
    for hook in Webhook.objects.filter(organization=organization, is_active=True):
        if not hook.wants(event):
            continue
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    webhook=hook, event=event, object_id=object_id, key=key,
                    payload={"event": event, "organization": organization.slug, "data": data,
                             "created_at": timezone.now().isoformat()},
                )
        except IntegrityError:
            continue
        deliveries.append(delivery)

        transaction.on_commit(lambda pk=delivery.pk: tasks.deliver_webhook.delay(pk))
    return deliveries


def max_attempts() -> int:
    return int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 6))


def backoff_seconds(attempt: int) -> float:
    """Delay before attempt ``attempt + 1``: base * 4^(attempt-1), e.g. 30 s, 2 min, 8 min, 32 min..."""
    base = float(getattr(settings, "WEBHOOK_RETRY_BASE_SECONDS", 30))
    return min(base * 4 ** (attempt - 1), 6 * 3600)


def attempt_delivery(delivery_id: int) -> tuple[WebhookDelivery | None, float | None]:
    """Make one attempt; returns the delivery and the delay before the next attempt (None: stop)."""
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None:  # the webhook was deleted meanwhile
        return None, None
    if delivery.status != WebhookDelivery.Status.PENDING or not delivery.webhook.is_active:
        return delivery, None
    hook = delivery.webhook
    body = orjson.dumps({**delivery.payload, "delivery": delivery.pk, "attempt": delivery.attempts + 1})
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Webhook-Event": delivery.event,
               "X-Webhook-Delivery": str(delivery.pk), SIGNATURE_HEADER: sign(hook.secret, timestamp, body)}
    delivery.attempts += 1
    status_code, error = None, ""
    try:
        status_code = post(hook.url, body, headers)
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except UnsafeURL as exc:
        error = str(exc)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    delivery.last_status_code, delivery.last_error = status_code, error
    retry = None
    if not error:
        delivery.status, delivery.delivered_at = WebhookDelivery.Status.DELIVERED, timezone.now()
    elif delivery.attempts >= max_attempts():
        delivery.status = WebhookDelivery.Status.FAILED
    else:
        retry = backoff_seconds(delivery.attempts)
    stored = WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=delivery.attempts, last_status_code=delivery.last_status_code, last_error=delivery.last_error,
        status=delivery.status, delivered_at=delivery.delivered_at,
    )
    if not stored:  # the webhook (and its deliveries) was deleted meanwhile: nothing left to retry
        return None, None
    return delivery, retry


def send_test_event(hook: Webhook) -> WebhookDelivery:
    """A ``test`` event to one webhook (the admin's button), whatever events it subscribed to: a fresh
    delivery each time, signed and logged like any other."""
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        webhook=hook, event=Webhook.Event.TEST, object_id=hook.pk, key=str(time.time_ns())[-40:],
        payload={"event": Webhook.Event.TEST, "organization": hook.organization.slug,
                 "data": {"webhook": hook.pk, "message": "Test event from the admin."}, "created_at": now.isoformat()},
    )
    transaction.on_commit(lambda: tasks.deliver_webhook.delay(delivery.pk))
    return delivery
