"""Log-ins by any path (form, e-mail confirmation, Google) record a device sighting for anti-fraud."""
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from . import services


@receiver(user_logged_in, dispatch_uid="contributors-login-sighting")
def record_login(sender, request, user, **kwargs):
    if request is None or user.is_staff:
        return
    raw = request.POST.get("device_fingerprint", "") if request.method == "POST" else ""
    services.record_device_sighting(
        user=user, event="login", fingerprint=services.fingerprint_digest(raw), ip=services.client_ip(request)
    )
