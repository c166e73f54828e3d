"""Template filters the task-type templates share: names for configured choice keys."""
from django import template

from tasks.types.choices import severity_label as _severity_label

register = template.Library()


@register.filter
def severity_label(level: str) -> str:
    """``{{ level|severity_label }}``: "critical" reads "nghiêm trọng" in Vietnamese."""
    return _severity_label(level)
