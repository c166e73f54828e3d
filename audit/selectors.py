"""Reads of the audit log."""
from __future__ import annotations

import csv
import io

from .models import AuditEvent
from .services import IDENTITY_ACTIONS

CSV_COLUMNS = ["id", "created_at", "action", "actor_label", "actor_role", "ip", "organization_id", "subject_id",
               "target", "detail"]


def identity_access_for(user):
    """Who viewed or downloaded this person's identity data (what the contributor may ask for)."""
    return AuditEvent.objects.filter(subject=user, action__in=IDENTITY_ACTIONS).order_by("-created_at", "-id")


def events_csv(queryset) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for event in queryset.order_by("id").iterator():
        row = [getattr(event, c) for c in CSV_COLUMNS]
        # Labels and targets are free text: neutralise spreadsheet formulas.
        writer.writerow(["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v
                         for v in (str(x) if x is not None else "" for x in row)])
    return out.getvalue()
