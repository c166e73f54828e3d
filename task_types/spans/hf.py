"""The Hugging Face features of a spans campaign's token-classification export: ``ner_tags`` as
``Sequence(ClassLabel)`` with the campaign's tag set (O, then B-/I- per label in the campaign's order,
core.bio_names). The export writes them into the Parquet schema metadata, so ``datasets`` applies them on load."""
from __future__ import annotations

from . import core


def feature_dict(labels: list[str]) -> dict:
    """``datasets.Features.to_dict()`` of the layout, written without importing ``datasets`` (a heavy
    library the export worker does not need); tests/test_spans_gaps.py checks it against ``datasets``."""
    return {
        "tokens": {"feature": {"dtype": "string", "_type": "Value"}, "_type": "Sequence"},
        "ner_tags": {"feature": {"names": core.bio_names(labels), "_type": "ClassLabel"}, "_type": "Sequence"},
        "item_id": {"dtype": "int64", "_type": "Value"},
    }
