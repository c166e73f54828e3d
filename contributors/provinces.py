"""The 34 province-level units after the 2025 merger, with their region, from data/vn_provinces_2025.json.

Names and codes match the ``vietnam-provinces`` package (tests check they agree); the region split is ours.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from django.conf import settings

from .models import Region

DATA_FILE = Path(settings.BASE_DIR) / "data" / "vn_provinces_2025.json"


@cache
def provinces() -> list[dict]:
    with open(DATA_FILE, encoding="utf-8") as fh:
        return json.load(fh)["provinces"]


@cache
def region_of() -> dict[str, str]:
    return {p["name"]: p["region"] for p in provinces()}


def province_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped by region for a <select> with <optgroup>s."""

    return [
        (str(label), [(p["name"], p["name"]) for p in provinces() if p["region"] == value])
        for value, label in Region.choices
    ]
