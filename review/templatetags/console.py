"""Template filters of the console."""
import json
import unicodedata

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


def _nfc(value):
    """Text in NFC: a decomposed "ễ" (e + two combining marks) stacks its marks wrongly in several fonts."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {_nfc(k): _nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    return value


@register.filter
def tojson(value) -> str:
    """Pretty JSON (Vietnamese kept readable, NFC); the template autoescapes the result."""
    return json.dumps(_nfc(value), ensure_ascii=False, indent=2, sort_keys=True)


@register.filter
def readable(value, depth: int = 0):
    """A stored value as a person reads it: objects as labelled fields, lists as lists, never JSON braces.

    Used where no task type page draws the value (a consensus result's figures, a legacy answer)."""
    value = _nfc(value)
    if depth > 6:
        return str(value)
    if isinstance(value, dict):
        if not value:
            return "–"
        return format_html('<dl class="console-fields">{}</dl>', format_html_join(
            "", "<dt>{}</dt><dd>{}</dd>", ((str(k).replace("_", " "), readable(v, depth + 1)) for k, v in value.items())))
    if isinstance(value, list):
        if not value:
            return "–"
        if all(not isinstance(v, dict | list) for v in value):
            return format_html_join(", ", "{}", ((readable(v, depth + 1),) for v in value))
        return format_html('<ol class="console-fields">{}</ol>', format_html_join(
            "", "<li>{}</li>", ((readable(v, depth + 1),) for v in value)))
    if value is None:
        return "–"
    if isinstance(value, bool):
        return mark_safe("✓") if value else mark_safe("✗")
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)
