"""Dawid-Skene on span labels where spans match, over a whole campaign.

Why: the per-item vote gives every contributor the same say on a span's label (or their trust, one number
for all labels). Across a campaign each contributor's labelling habits show: who calls every place an ORG,
who labels at random. Dawid-Skene learns one confusion matrix per contributor from every matched span of the
campaign and decides each span's label from them, so one careful contributor can outvote several careless
ones on the labels they confuse.

How: each item's answers are grouped with core.span_groups (the campaign's matching: exact boundaries or
IoU); every group with a span is one DS unit, each member's label one observation by its contributor.
Boundaries and which groups are kept stay the trust-weighted vote of core.consensus_spans; only the label of
a kept group comes from the fit (with its posterior). Text spans only: audio segments keep the vote (their
labels are mostly speakers, whose names differ per recording, so a confusion matrix learns nothing).
Free of Django; the whole-campaign re-score calls it through SpansTaskType.campaign_aggregates.
"""
from __future__ import annotations

import numpy as np

from consensus import dawid_skene as ds

from . import core


def decide_group_labels(per_item: list[list[tuple[int, list[dict]]]], labels: list[str], *, mode: str = "exact",
                        threshold: float = 0.5) -> list[list[tuple[str, float] | None]]:
    """The label and posterior of every span group of every item, by Dawid-Skene over the campaign.

    ``per_item``: for each item, its answers as (contributor row, spans). Returns, per item, one entry per
    group in core.span_groups' order (None for a group whose labels are all outside ``labels``)."""
    index = {label: k for k, label in enumerate(labels)}
    unit_rows, workers, said = [], [], []
    group_units: list[list[int]] = []
    n_units = 0
    for answers in per_item:
        spans_lists = [spans for _w, spans in answers]
        units = []
        for group in core.span_groups(spans_lists, mode=mode, threshold=threshold):
            for ai, span in group["members"]:
                unit_rows.append(n_units)
                workers.append(answers[ai][0])
                said.append(index.get(span["label"], -1))
            units.append(n_units)
            n_units += 1
        group_units.append(units)
    n_workers = max(workers, default=-1) + 1
    data = ds.clean_labels(np.array(unit_rows), np.array(workers), np.array(said), n_units, n_workers, len(labels))
    fit = ds.dawid_skene(data)
    confidence = fit.confidence if n_units else np.zeros(0)
    return [[(labels[int(fit.labels[u])], float(confidence[u])) if fit.labels[u] >= 0 else None for u in units]
            for units in group_units]
