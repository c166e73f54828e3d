"""Site-wide views: the landing redirect (probes and metrics: web/ops.py)."""
from django.shortcuts import redirect


def home(request):
    if request.user.is_authenticated and request.user.is_staff:
        return redirect("admin:index")
    return redirect("label-home")
