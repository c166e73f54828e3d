"""Campaign eligibility and quotas on contributor profile attributes (``Campaign.profile_rules``).

Region quotas (``Campaign.region_quotas``) were the only demographic control; speech wants province and dialect
quotas, market research age and gender. The format, checked by ``validate`` (errors name the field)::

    {"eligible": {"province": ["Hà Nội", "Huế"], "age_band": ["18-24", "25-34"], "languages": ["vi", "km"]},
     "quotas": {"gender": {"share": {"female": 50, "male": 50}},
                "dialect": {"count": {"hue": 200, "quang": 100}}}}

- ``eligible``: per attribute, the values admitted (``languages``: the profile lists at least one of them).
- ``quotas``: per attribute, either ``share`` (percent of the campaign's regular answers, adding up to 100, like
  region quotas) or ``count`` (answers). A value missing from a quota takes no part (as a region without a quota).

The queue enforces quotas with the region quotas' own tallies (``RegionTally`` rows keyed ``"attribute=value"``,
taken by the same guarded UPDATE before the pick; workqueue/README.md, "Quotas"). This module is the format and
the pure matching; it reads profile attributes by name so the tasks layer needs no import of ``contributors``
(tests/test_profile_quotas.py checks these value lists against the profile's choices).
"""
from __future__ import annotations

import math

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.schema import SchemaError

# attribute -> its label (for the contributor's refusal message)
ATTRIBUTES = {
    "province": gettext_lazy("province"),
    "dialect": gettext_lazy("dialect"),
    "gender": gettext_lazy("gender"),
    "age_band": gettext_lazy("age band"),
    "device_type": gettext_lazy("device type"),
    "languages": gettext_lazy("languages"),
}
QUOTA_ATTRIBUTES = ("province", "dialect", "gender", "age_band", "device_type")  # one value per profile
# Closed value sets (ContributorProfile's choices and ``age_band``); province, dialect, languages are free text.
KNOWN_VALUES = {
    "gender": ("female", "male", "other", "undisclosed"),
    "device_type": ("phone", "tablet", "computer"),
    "age_band": ("<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"),
}
SEPARATOR = "|"  # joins the tally keys a lease holds in ``Assignment.region``


def _values(field: str, raw) -> list[str]:
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) and v.strip() for v in raw):
        raise SchemaError(field, _("Give a non-empty list of values."))
    return [v.strip() for v in raw]


def _check_value(field: str, attribute: str, value: str) -> None:
    if SEPARATOR in value or "=" in value:
        raise SchemaError(field, _("A value may not contain | or =."))
    known = KNOWN_VALUES.get(attribute)
    if known and value not in known:
        raise SchemaError(field, _("Unknown value %(value)r; use one of: %(known)s.")
                          % {"value": value, "known": ", ".join(known)})


def validate(rules) -> dict:
    """The rules, normalised; SchemaError naming the field (``profile_rules.quotas.gender.share``) when wrong."""
    if rules is None:
        raise SchemaError("profile_rules", _("Profile rules must be an object (use {} for none)."))
    if not isinstance(rules, dict):
        raise SchemaError("profile_rules", _("Profile rules must be an object (use {} for none)."))
    unknown = set(rules) - {"eligible", "quotas"}
    if unknown:
        raise SchemaError(f"profile_rules.{sorted(unknown)[0]}", _("Unknown key; use eligible and quotas."))
    out: dict = {}
    eligible = rules.get("eligible", {})
    if not isinstance(eligible, dict):
        raise SchemaError("profile_rules.eligible", _("Must be an object: attribute -> list of values."))
    for attribute, raw in eligible.items():
        field = f"profile_rules.eligible.{attribute}"
        if attribute not in ATTRIBUTES:
            raise SchemaError(field, _("Unknown attribute; use one of: %(names)s.") % {"names": ", ".join(ATTRIBUTES)})
        values = _values(field, raw)
        for value in values:
            _check_value(field, attribute, value)
        out.setdefault("eligible", {})[attribute] = values
    quotas = rules.get("quotas", {})
    if not isinstance(quotas, dict):
        raise SchemaError("profile_rules.quotas", _("Must be an object: attribute -> {\"share\" or \"count\": ...}."))
    for attribute, spec in quotas.items():
        field = f"profile_rules.quotas.{attribute}"
        if attribute not in QUOTA_ATTRIBUTES:
            raise SchemaError(field, _("Quotas are possible on: %(names)s.") % {"names": ", ".join(QUOTA_ATTRIBUTES)})
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in ("share", "count"):
            raise SchemaError(field, _('Give either {"share": {value: percent}} or {"count": {value: answers}}.'))
        unit, table = next(iter(spec.items()))
        field = f"{field}.{unit}"
        if not isinstance(table, dict) or not table:
            raise SchemaError(field, _("Must map each value to a number."))
        for value, number in table.items():
            _check_value(field, attribute, value)
            if isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
                raise SchemaError(f"{field}.{value}", _("Must be a non-negative number."))
            if unit == "count" and number != int(number):
                raise SchemaError(f"{field}.{value}", _("A count is a whole number of answers."))
        if unit == "share" and abs(sum(table.values()) - 100) > 0.01:
            raise SchemaError(field, _("Shares must add up to 100%."))
        out.setdefault("quotas", {})[attribute] = {unit: {k: (int(v) if unit == "count" else v) for k, v in table.items()}}
    return out


def profile_value(profile, attribute: str):
    value = getattr(profile, attribute, None)
    if attribute == "languages":
        return value or []
    return str(value or "").strip()


def refusal(profile, rules: dict) -> str | None:
    """Why this profile may not work under these rules (the contributor is told), or None."""
    for attribute, values in (rules.get("eligible") or {}).items():
        label = ATTRIBUTES[attribute]
        mine = profile_value(profile, attribute)
        if attribute == "languages":
            if not set(mine or ()) & set(values):
                return _("This campaign is for contributors who speak one of: %(values)s.") % {"values": ", ".join(values)}
            continue
        if not mine:
            return _("Add your %(attribute)s to your profile to take part in this campaign.") % {"attribute": label}
        if mine not in values:
            return _("This campaign is open only to contributors whose %(attribute)s is one of: %(values)s.") % {
                "attribute": label, "values": ", ".join(values)}
    for attribute, spec in (rules.get("quotas") or {}).items():
        label = ATTRIBUTES[attribute]
        mine = profile_value(profile, attribute)
        if not mine:
            return _("Add your %(attribute)s to your profile to take part in this campaign.") % {"attribute": label}
        if not next(iter(spec.values())).get(mine, 0):
            return _("This campaign is not collecting answers from contributors with your %(attribute)s.") % {
                "attribute": label}
    return None


def tally_keys(profile, rules: dict) -> list[str]:
    """The tallies a lease of this profile takes a slot of, one per quota attribute, in a fixed order (every
    lease locks tally rows in the same order, so two picks never wait on each other in a cycle)."""
    return [f"{attribute}={profile_value(profile, attribute)}" for attribute in sorted(rules.get("quotas") or {})]


def key_cap(rules: dict, key: str, regular_target: int) -> int:
    """How many answers (live leases + submitted) the tally ``attribute=value`` may hold: a count as given, a
    share as ceil(share% x the campaign's regular answer target) (as ``region_cap``: rounding never strands a
    slot)."""
    attribute, _sep, value = key.partition("=")
    unit, table = next(iter(((rules.get("quotas") or {}).get(attribute) or {"count": {}}).items()))
    number = table.get(value, 0) or 0
    if unit == "count":
        return int(number)
    return math.ceil(float(number) * regular_target / 100 - 1e-9)


def quota_label(key: str) -> str:
    attribute = key.partition("=")[0]
    return str(ATTRIBUTES.get(attribute, attribute))
