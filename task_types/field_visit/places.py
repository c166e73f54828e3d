"""Nearest-first listing of the places a contributor may book (reads only)."""
from __future__ import annotations

from workqueue.eligibility import candidates

from .task import distance_m

MAX_LISTED = 50


def nearest_places(campaign, user, *, lat: float, lon: float, limit: int = MAX_LISTED) -> list[dict]:
    """The places this contributor may still book (open slot, never held before), nearest first.

    The queue's own predicate decides availability, so the list never offers a place the booking
    would refuse except in a race (the booking locks the row and says so). Distances are computed
    here from the item payloads: a campaign's places fit in memory (thousands, not millions).
    """
    rows = []
    for item_id, payload, open_slots in candidates(campaign_id=campaign.pk, user_id=user.pk).values_list(
            "id", "payload", "open_slots").iterator(chunk_size=2000):
        place = payload.get("place") or {}
        if "lat" not in place or "lon" not in place:
            continue
        rows.append({"item_id": item_id, "place": place, "window": payload.get("window"),
                     "open_slots": open_slots, "distance_m": round(distance_m(lat, lon, place["lat"], place["lon"]), 1)})
    rows.sort(key=lambda r: (r["distance_m"], r["item_id"]))
    return rows[:limit]
