"""Consensus for object annotations: match objects across contributors, fuse them, score gold answers.

Matching: contributors' answers are taken one after another; each answer's objects are assigned to the
clusters built so far by the Hungarian assignment on their similarity to each cluster's fused geometry
(IoU or OKS, ``geometry.similarity_matrix``), pairs under the threshold start new clusters. A cluster kept
by more than half the contributors' weight is a consensus object with its fused geometry, the weighted
majority class, its support and its agreement (mean similarity of the members to the fused geometry).
Per contributor, ``missing`` counts kept objects they did not draw and ``extra`` objects of theirs nobody
else confirmed. Pure functions: the task type, the video tracks and the tests call them.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .geometry import fuse, hungarian, similarity_matrix


@dataclass
class Cluster:
    members: list[tuple[int, dict]] = field(default_factory=list)  # (answer index, object)
    fused: dict | None = None


def match_objects(answers: list[list[dict]], width: int, height: int, *, threshold: float = 0.5,
                  sigmas=None) -> list[Cluster]:
    """Group objects of several answers so each cluster holds at most one object per answer."""
    clusters: list[Cluster] = []
    for ai, objects in enumerate(answers):
        if not objects:
            continue
        reps = [c.fused for c in clusters]
        sim = similarity_matrix(objects, reps, width, height, sigmas=sigmas) if reps else np.zeros((len(objects), 0))
        taken = set()
        for oi, ci, _s in hungarian(sim, threshold):
            clusters[ci].members.append((ai, objects[oi]))
            taken.add(oi)
        for oi, obj in enumerate(objects):
            if oi not in taken:
                clusters.append(Cluster(members=[(ai, obj)]))
        for c in clusters:  # the representative each next answer is matched against
            c.fused = {**fuse([m for _a, m in c.members], [1.0] * len(c.members), width, height)}
    return clusters


def consensus_objects(answers: list[list[dict]], weights: list[float], width: int, height: int, *,
                      threshold: float = 0.5, sigmas=None,
                      decided_labels: list[tuple[str, float]] | None = None) -> dict:
    """Consensus objects with per-object agreement, plus missing/extra counts per answer.

    ``decided_labels``: the campaign's Dawid-Skene class and posterior per cluster, in ``match_objects``
    order (``object_class_dawid_skene``); a cluster's class then comes from it instead of the weighted vote,
    and ``label_agreement`` is the members' weight that said that class."""
    n = len(answers)
    w = np.asarray(weights if weights else [1.0] * n, dtype=np.float64)
    total = float(w.sum()) or 1.0
    clusters = match_objects(answers, width, height, threshold=threshold, sigmas=sigmas)
    kept, scores = [], []
    missing, extra = [0] * n, [0] * n
    for ci, c in enumerate(clusters):
        who = [a for a, _o in c.members]
        support = float(w[who].sum()) / total
        members = [o for _a, o in c.members]
        fused = fuse(members, [float(w[a]) for a in who], width, height)
        sims = similarity_matrix([fused], members, width, height, sigmas=sigmas)[0]
        agreement = float(sims.mean()) if len(sims) else 0.0
        labels: Counter = Counter()
        for a, o in c.members:
            labels[o.get("label", "")] += float(w[a])
        label, label_weight = labels.most_common(1)[0]
        posterior = None
        if decided_labels is not None and decided_labels[ci][0]:
            label, posterior = decided_labels[ci]
            label_weight = labels.get(label, 0.0)
        label_agreement = label_weight / sum(labels.values())
        score = support * agreement * label_agreement
        is_kept = support > 0.5 or n == 1
        scores.append(score if is_kept else 1.0 - support)  # an unconfirmed lone object: nobody disputes it much
        if is_kept:
            attrs = _vote_attributes([o.get("attributes") or {} for o in members], [float(w[a]) for a in who])
            kept.append({**fused, "label": label, "attributes": attrs, "support": round(support, 3),
                         "agreement": round(agreement, 3), "label_agreement": round(label_agreement, 3),
                         "n": len(members), "id": f"c{len(kept) + 1}",
                         **({"label_posterior": round(posterior, 4)} if posterior is not None else {})})
            for a in range(n):
                if a not in who:
                    missing[a] += 1
        else:
            for a in who:
                extra[a] += 1
    agreement = float(np.mean(scores)) if scores else 1.0
    return {"objects": kept, "missing": missing, "extra": extra, "agreement": agreement}


def _vote_attributes(values: list[dict], weights: list[float]) -> dict:
    """Weighted majority per attribute (booleans and short texts alike)."""
    out = {}
    keys = {k for v in values for k in v}
    for key in sorted(keys):
        tally: Counter = Counter()
        for v, wi in zip(values, weights, strict=True):
            if key in v:
                tally[repr(v[key])] += wi
        best = tally.most_common(1)[0][0]
        out[key] = next(v[key] for v in values if key in v and repr(v[key]) == best)
    return out


def score_against_gold(objects: list[dict], gold: list[dict], width: int, height: int, *,
                       threshold: float = 0.5, sigmas=None) -> dict:
    """Precision, recall and mean IoU/OKS of matched pairs of one answer against a gold answer.

    A pair counts as a true positive only when the classes agree as well as the geometry.
    """
    sim = similarity_matrix(objects, gold, width, height, sigmas=sigmas)
    pairs = [(i, j, s) for i, j, s in hungarian(sim, threshold)
             if objects[i].get("label", "") == gold[j].get("label", "")]
    tp = len(pairs)
    precision = tp / len(objects) if objects else (1.0 if not gold else 0.0)
    recall = tp / len(gold) if gold else (1.0 if not objects else 0.0)
    mean_iou = float(np.mean([s for _i, _j, s in pairs])) if pairs else (1.0 if not gold and not objects else 0.0)
    return {"precision": round(precision, 4), "recall": round(recall, 4), "mean_iou": round(mean_iou, 4),
            "tp": tp, "fp": len(objects) - tp, "fn": len(gold) - tp}


def object_class_dawid_skene(items: list[dict], classes: list[str], *, threshold: float = 0.5,
                             min_answers: int = 30, sigmas=None) -> list[list[tuple[str, float]]] | None:
    """Dawid-Skene over the classes of matched objects across a campaign (None when too few answers).

    ``items``: ``{"answers": [[obj, ...], ...], "workers": [user id, ...], "width", "height"}`` per item.
    Each cluster is one DS "item"; a contributor's class for it is one label. Returns, per item, the
    decided class and its posterior for each cluster in ``match_objects`` order.
    """
    from consensus.dawid_skene import clean_labels, dawid_skene

    index = {c: i for i, c in enumerate(classes)}
    rows_item, rows_worker, rows_label, layout = [], [], [], []
    worker_ids: dict = {}
    n_clusters = 0
    for item in items:
        clusters = match_objects(item["answers"], item["width"], item["height"], threshold=threshold,
                                 sigmas=sigmas)
        layout.append(len(clusters))
        for c in clusters:
            for a, obj in c.members:
                if obj.get("label") in index:
                    rows_item.append(n_clusters)
                    rows_worker.append(worker_ids.setdefault(item["workers"][a], len(worker_ids)))
                    rows_label.append(index[obj["label"]])
            n_clusters += 1
    if len(rows_label) < min_answers:
        return None
    data = clean_labels(np.array(rows_item), np.array(rows_worker), np.array(rows_label), n_clusters,
                        len(worker_ids), len(classes))
    fit = dawid_skene(data)
    out, k = [], 0
    for count in layout:
        decided = []
        for _ in range(count):
            label = int(fit.labels[k])
            decided.append((classes[label] if label >= 0 else "", float(fit.posteriors[k].max())))
            k += 1
        out.append(decided)
    return out
