"""Demo forms: the example XLSForms next to this file, converted as a manager's upload would be."""
from __future__ import annotations

from pathlib import Path

from .xlsform import convert

EXAMPLES = Path(__file__).resolve().parent / "examples"


def example_form(name: str) -> dict:
    path = EXAMPLES / f"{name}.xlsx"
    return convert(path.read_bytes(), path.name)


def consumer_survey_form() -> dict:
    return example_form("consumer_survey")


def retail_audit_form() -> dict:
    return example_form("retail_audit")
