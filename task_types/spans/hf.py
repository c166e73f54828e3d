"""The Hugging Face token-classification dataset of a spans export, with ``ner_tags`` as ``ClassLabel``.

The export's schema is fixed for every campaign, so its tags are strings; the campaign's labels give the
ClassLabel names (O, then B-/I- per label in the campaign's order, core.bio_names)."""
from __future__ import annotations

from . import core


def token_features(labels: list[str]):
    import datasets  # heavy library: only where a dataset is built

    return datasets.Features({
        "tokens": datasets.Sequence(datasets.Value("string")),
        "ner_tags": datasets.Sequence(datasets.ClassLabel(names=core.bio_names(labels))),
        "item_id": datasets.Value("int64"),
    })


def token_dataset(rows: list[dict], labels: list[str]):
    """A ``datasets.Dataset`` from the ``token_classification`` rows (tags cast to the ClassLabel ids)."""
    import datasets

    features = token_features(labels)
    names = core.bio_names(labels)
    encoded = [{"tokens": r["tokens"], "ner_tags": [names.index(t) for t in r["ner_tags"]], "item_id": r["item_id"]}
               for r in rows]
    return datasets.Dataset.from_list(encoded, features=features)
