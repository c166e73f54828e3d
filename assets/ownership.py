"""Whose media an item may name: only files uploaded to a campaign of the item's own organisation.

Checked at import (tasks.importing, every import path) and again at export (exports.services), so an
item of organisation A naming organisation B's storage key neither imports nor copies B's file into A's
archive. Contributors never see storage keys: the payload they lease names media by an opaque label
and the page asks for signed URLs (web.assets.views.assignment_media).
"""
from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from tasks.importing import truncate_value

from .models import MediaAsset

MASK_PREFIX = "media:"


def owned_keys(*, organization_id: int, keys: Iterable[str]) -> set[str]:
    """The subset of ``keys`` this organisation may use: stored for one of its campaigns (uploads, zip
    imports, recordings), or the platform's shared demo media (no campaign), as assets.selectors.media_urls_for
    signs them."""
    wanted = {k for k in keys if isinstance(k, str) and k}
    if not wanted:
        return set()
    return set(MediaAsset.objects.filter(key__in=wanted)
               .filter(Q(campaign__organization_id=organization_id) | Q(campaign__isnull=True))
               .values_list("key", flat=True))


def foreign_media(*, organization_id: int, media: dict[str, object]) -> dict[str, object]:
    """``{name: key}`` of the media an item names that this organisation does not own (or that do not exist)."""
    owned = owned_keys(organization_id=organization_id, keys=[k for k in media.values() if isinstance(k, str)])
    return {name: key for name, key in media.items() if not isinstance(key, str) or key not in owned}


def item_media(task, payload) -> dict[str, object]:
    """The media an item payload names, by name; {} when the payload is too malformed to say (its schema
    check reports that)."""
    try:
        return dict(task.media_keys(payload)) if isinstance(payload, dict) else {}
    except (KeyError, TypeError, AttributeError):
        return {}


def check_imported_item(*, campaign, task, payload) -> tuple[str, str] | None:
    """tasks.importing's item check (registered in assets/apps.py): every media key an imported item names
    must be this organisation's. One message for "missing" and "someone else's": no existence oracle."""
    foreign = foreign_media(organization_id=campaign.organization_id, media=item_media(task, payload))
    if not foreign:
        return None
    name, key = next(iter(foreign.items()))
    return (f"payload.{name}", f"No media of this organisation has the key {truncate_value(key)}; "
                               "upload the file to one of its campaigns first.")


def masked_payload(task, payload: dict) -> dict:
    """The payload as a contributor receives it: storage keys replaced by ``media:<name>``, and what the
    type keeps blind left out (``TaskType.contributor_payload``)."""
    payload = task.contributor_payload(payload)
    media = item_media(task, payload)
    if not media:
        return payload
    masked = dict(payload)
    for name in media:
        if name in masked:
            masked[name] = f"{MASK_PREFIX}{name}"
    return masked
