"""Template filters of the console."""
import json

from django import template

register = template.Library()


@register.filter
def tojson(value) -> str:
    """Pretty JSON (Vietnamese kept readable); the template autoescapes the result."""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
