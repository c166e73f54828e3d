"""Names people read for the choice keys that campaigns configure (severity levels and the like).

Campaign settings store keys ("low", "critical"); pages show names in the reader's language. A key not
listed here is a campaign's own word and is shown as the manager wrote it.
"""
from __future__ import annotations

from django.utils.translation import pgettext_lazy

SEVERITY_LABELS = {
    "none": pgettext_lazy("severity", "none"),
    "low": pgettext_lazy("severity", "low"),
    "medium": pgettext_lazy("severity", "medium"),
    "high": pgettext_lazy("severity", "high"),
    "critical": pgettext_lazy("severity", "critical"),
}


def severity_label(level: str) -> str:
    return str(SEVERITY_LABELS.get(level, level))


def choice_labels() -> dict[str, dict[str, str]]:
    """The names for the page scripts (JSON), by kind of choice, in the active language."""
    return {"severity": {key: str(label) for key, label in SEVERITY_LABELS.items()}}
