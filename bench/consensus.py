"""Consensus benchmark: our Dawid-Skene, majority vote, Bradley-Terry and text vote against crowd-kit in the
same process, checked, and a whole-campaign re-score of 1M answers through PostgreSQL.

    .venv/bin/python bench/consensus.py                 # DS on 1,000,000 labels (100k items, 2k workers,
                                                        # 5 classes), BT on 1,000,000 comparisons over 10k items,
                                                        # text on 100,000 transcriptions at 2, 3 and 5 answers,
                                                        # then the DB re-score
    .venv/bin/python bench/consensus.py --skip-db       # algorithms only
    .venv/bin/python bench/consensus.py --skip-algorithms --reuse-campaign ID   # DB re-score of an earlier seed
    .venv/bin/python bench/consensus.py --smoke         # tiny sizes (the test suite runs this)

All data is synthetic with known truth. Labels: each worker answers correctly with their own accuracy
(a share are spammers at chance), wrong answers uniform over the other classes. Comparisons: normal
strengths, Bradley-Terry outcomes. Transcriptions: Vietnamese sentences read with swapped or dropped
marks, wrong, missing and extra syllables (``simulate_transcriptions``). Prints time (a plain run), peak
memory (a second run under tracemalloc) and accuracy against the truth for ours and crowd-kit's, with the
speed ratio, then seeds a moderation campaign in its own database (``annotate_bench_e`` by default) with COPY
and times ``consensus.engine.rescore_campaign`` (read, fit, per-item results, upsert, trust, report), twice:
the second run shows that a re-run counts no answer toward trust again.

The bench checks itself (``verify``): Dawid-Skene agrees with crowd-kit's on 99% of items and beats majority
vote; Bradley-Terry equals a reference L-BFGS solve of the same likelihood; the text vote is at least as
accurate as crowd-kit's ROVER (and 10x faster at full size). A failed check exits non-zero.
The last lines are the result as JSON and the verdict.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import tracemalloc
import unicodedata
from pathlib import Path

import numpy as np

try:  # run as a script: bench/ is sys.path[0]
    from _setup import django_setup, ensure_database
except ModuleNotFoundError:  # imported by the tests as bench.<name>
    from bench._setup import django_setup, ensure_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/annotate_bench_e"


# --- simulated crowds --------------------------------------------------------------------------


def simulate_crowd(n_items: int, n_workers: int, k: int, per_item: int, *, seed: int = 0,
                   spammers: float = 0.2, accuracy=(0.5, 0.95)):
    """(truth, items, workers, labels, worker accuracy); each item gets ``per_item`` distinct workers."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    acc = rng.uniform(*accuracy, n_workers)
    acc[rng.random(n_workers) < spammers] = 1.0 / k
    # Distinct workers per item without a Python loop: sorted draws from [0, n - per_item] plus 0..per_item-1.
    draws = np.sort(rng.integers(0, n_workers - per_item + 1, (n_items, per_item)), axis=1)
    workers = (draws + np.arange(per_item)).ravel()
    workers = rng.permutation(n_workers)[workers]  # so worker rows are not ordered by skill
    items = np.repeat(np.arange(n_items), per_item)
    right = rng.random(items.size) < acc[workers]
    labels = np.where(right, truth[items], (truth[items] + rng.integers(1, k, items.size)) % k)
    return truth, items, workers, labels, acc


def simulate_comparisons(n_items: int, n_comparisons: int, *, seed: int = 0):
    rng = np.random.default_rng(seed)
    strength = rng.normal(size=n_items)
    a = rng.integers(0, n_items, n_comparisons)
    b = (a + rng.integers(1, n_items, n_comparisons)) % n_items
    a_wins = rng.random(n_comparisons) < 1 / (1 + np.exp(strength[b] - strength[a]))
    return strength, np.where(a_wins, a, b), np.where(a_wins, b, a)


_SYLLABLES = (
    "tôi bạn anh chị em con bố mẹ ông bà nhà cửa đường phố trường học làm việc đi về ăn uống ngủ nghỉ nói "
    "nghe đọc viết hôm nay ngày mai tháng năm trời nắng mưa gió lạnh nóng xanh đỏ vàng trắng đen nước mắm gạo "
    "nếp trứng vịt cà phê sữa đá bánh mì thịt nướng chợ quê hương đất Hà Nội Huế Sài Gòn sông núi biển "
    "cây lá hoa quả cam chuối xoài mít thương nhớ vui buồn khỏe mạnh yếu đau thuốc bệnh viện bác sĩ giáo "
    "viên sinh học bài thi điểm cao thấp nhanh chậm sớm muộn được không có là của và với cho những các một hai "
    "ba bốn sáu bảy tám chín mười trăm nghìn triệu đồng tiền mua bán hàng quán cơm phở bún chả giò"
).split()
_TONE_SWAPS = {"a": "à", "à": "á", "á": "ả", "ả": "ã", "ã": "ạ", "ạ": "a", "ô": "ơ", "ơ": "ô", "ư": "u",
               "u": "ư", "ê": "e", "e": "ê", "ì": "í", "í": "ì", "ó": "ò", "ò": "ó", "đ": "d"}


def _misheard(syllable: str, rng) -> str:
    """A plausible misreading: a tone or vowel mark swapped, or the marks dropped."""
    if rng.random() < 0.5:
        decomposed = unicodedata.normalize("NFD", syllable.replace("đ", "d"))
        stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
        if stripped != syllable:
            return stripped
    chars = list(syllable)
    spots = [i for i, c in enumerate(chars) if c.lower() in _TONE_SWAPS]
    if not spots:
        return _SYLLABLES[int(rng.integers(len(_SYLLABLES)))]
    i = spots[int(rng.integers(len(spots)))]
    chars[i] = _TONE_SWAPS[chars[i].lower()]
    return "".join(chars)


def simulate_transcriptions(n_items: int, n_workers: int, per_item: int, *, seed: int = 0,
                            quality=(0.75, 0.99), spammers: float = 0.1, length=(6, 18)):
    """(truth texts, items, workers, texts, trust per worker): a synthetic Vietnamese transcription crowd.

    Each truth is ``length`` syllables from a fixed list, with a comma and a full stop. Each worker reads a
    token wrong with probability ``1 - quality`` (a share are careless at 0.5): a swapped or dropped mark
    (half the errors), another syllable, a dropped or an extra syllable. Trust is the worker's quality seen
    through noise (as the platform's agreement-based trust would estimate it).
    """
    rng = np.random.default_rng(seed)
    q = rng.uniform(*quality, n_workers)
    q[rng.random(n_workers) < spammers] = 0.5
    trust = np.clip(q + rng.normal(0.0, 0.05, n_workers), 0.05, 1.0)
    truth = []
    for _ in range(n_items):
        words = [_SYLLABLES[i] for i in rng.integers(0, len(_SYLLABLES), int(rng.integers(*length)))]
        words[int(rng.integers(1, len(words) - 1))] += ","
        truth.append(" ".join(words).capitalize() + ".")
    draws = np.sort(rng.integers(0, n_workers - per_item + 1, (n_items, per_item)), axis=1)
    workers = rng.permutation(n_workers)[(draws + np.arange(per_item)).ravel()]
    items = np.repeat(np.arange(n_items), per_item)
    texts = []
    for item, worker in zip(items.tolist(), workers.tolist(), strict=True):
        out = []
        for token in truth[item].split(" "):
            if rng.random() >= q[worker]:
                kind = rng.random()
                if kind < 0.5:
                    token = _misheard(token, rng)
                elif kind < 0.7:
                    token = _SYLLABLES[int(rng.integers(len(_SYLLABLES)))]
                elif kind < 0.85:
                    continue
                else:
                    out.append(_SYLLABLES[int(rng.integers(len(_SYLLABLES)))])
            out.append(token)
        texts.append(" ".join(out))
    return truth, items, workers, texts, trust


def traced(fn):
    """(result, seconds, peak MiB) of one call under tracemalloc: for calls that must run once (a re-score)."""
    gc.collect()
    tracemalloc.start()
    t = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, peak


def measured(fn, *, memory: bool = True):
    """(result, seconds, peak MiB) of a call: the time from a plain run, the peak from a second run under
    tracemalloc (NumPy and pandas report to it; its bookkeeping slows Python-heavy code, so never time it).
    ``memory=False`` skips the second run (peak None)."""
    gc.collect()
    t = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t
    if not memory:
        return result, seconds, None
    del result
    gc.collect()
    tracemalloc.start()
    result = fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, peak


# --- algorithms --------------------------------------------------------------------------------


def reference_bradley_terry(n: int, winners, losers, weights=None, *, alpha: float = 0.01) -> np.ndarray:
    """Our penalised Bradley-Terry likelihood solved by a general optimiser (L-BFGS), centred: the reference."""
    from scipy.optimize import minimize

    w, lo = np.asarray(winners), np.asarray(losers)
    wt = np.ones(w.size) if weights is None else np.asarray(weights, dtype=float)

    def loss(theta):
        d = theta[lo] - theta[w]
        p = 1 / (1 + np.exp(-d))  # P(the loser wins)
        grad = np.bincount(lo, wt * p, n) - np.bincount(w, wt * p, n) + alpha * theta
        return float(wt @ np.logaddexp(0, d) + 0.5 * alpha * theta @ theta), grad

    theta = minimize(loss, np.zeros(n), jac=True, method="L-BFGS-B",
                     options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 5000}).x
    return theta - theta.mean()


def _ratio(theirs: float, ours: float) -> float:
    return theirs / max(ours, 1e-9)


def bench_dawid_skene(out: dict, *, n_items: int, n_workers: int, k: int, per_item: int, crowd_kit: bool) -> None:
    import pandas as pd

    from consensus.dawid_skene import clean_labels, dawid_skene, majority_vote

    truth, items, workers, labels, _acc = simulate_crowd(n_items, n_workers, k, per_item, seed=1)
    print(f"Dawid-Skene: {items.size:,} labels, {n_items:,} items, {n_workers:,} workers, {k} classes (synthetic)")
    data = clean_labels(items, workers, labels, n_items, n_workers, k)
    fit, t_ds, m_ds = measured(lambda: dawid_skene(data))
    (mv, _share), t_mv, m_mv = measured(lambda: majority_vote(data))
    out["ds_ours"] = {"seconds": t_ds, "peak_mib": m_ds, "accuracy": float(np.mean(fit.labels == truth)),
                      "iterations": fit.n_iter}
    out["mv_ours"] = {"seconds": t_mv, "peak_mib": m_mv, "accuracy": float(np.mean(mv == truth))}
    print(f"  ours       DS {t_ds:7.2f} s  peak {m_ds:7.1f} MiB  accuracy {out['ds_ours']['accuracy']:.4f} "
          f"({fit.n_iter} iterations)")
    print(f"  ours       MV {t_mv:7.2f} s  peak {m_mv:7.1f} MiB  accuracy {out['mv_ours']['accuracy']:.4f}")
    if not crowd_kit:
        return
    # crowd-kit is heavy (pandas, scikit-learn): loaded only when compared.
    from crowdkit.aggregation import DawidSkene, MajorityVote

    frame = pd.DataFrame({"task": items, "worker": workers, "label": labels})
    ck, t_ck, m_ck = measured(lambda: DawidSkene(n_iter=100, tol=1e-5).fit_predict(frame))
    ck = ck.reindex(range(n_items)).to_numpy()
    ckmv, t_ckmv, m_ckmv = measured(lambda: MajorityVote().fit_predict(frame))
    ckmv = ckmv.reindex(range(n_items)).to_numpy()
    out["ds_crowdkit"] = {"seconds": t_ck, "peak_mib": m_ck, "accuracy": float(np.mean(ck == truth)),
                          "label_agreement_with_ours": float(np.mean(ck == fit.labels)), "ratio": _ratio(t_ck, t_ds)}
    out["mv_crowdkit"] = {"seconds": t_ckmv, "peak_mib": m_ckmv, "accuracy": float(np.mean(ckmv == truth)),
                          "ratio": _ratio(t_ckmv, t_mv)}
    print(f"  crowd-kit  DS {t_ck:7.2f} s  peak {m_ck:7.1f} MiB  accuracy {out['ds_crowdkit']['accuracy']:.4f}"
          f"  agreement with ours {out['ds_crowdkit']['label_agreement_with_ours']:.4f}"
          f"  -> ours {out['ds_crowdkit']['ratio']:.1f}x faster")
    print(f"  crowd-kit  MV {t_ckmv:7.2f} s  peak {m_ckmv:7.1f} MiB  accuracy {out['mv_crowdkit']['accuracy']:.4f}"
          f"  -> ours {out['mv_crowdkit']['ratio']:.1f}x faster")


def bench_bradley_terry(out: dict, *, n_items: int, n_comparisons: int, crowd_kit: bool) -> None:
    import pandas as pd
    from scipy.stats import spearmanr

    from consensus.bradley_terry import bradley_terry_scores

    strength, winners, losers = simulate_comparisons(n_items, n_comparisons, seed=2)
    print(f"Bradley-Terry: {n_comparisons:,} comparisons over {n_items:,} items (synthetic)")
    scores, t_bt, m_bt = measured(lambda: bradley_terry_scores(n_items, winners, losers))
    reference, t_ref, _m = measured(lambda: reference_bradley_terry(n_items, winners, losers), memory=False)
    out["bt_ours"] = {"seconds": t_bt, "peak_mib": m_bt, "spearman_vs_truth": float(spearmanr(scores, strength)[0]),
                      "max_abs_diff_vs_reference": float(np.max(np.abs(scores - reference))),
                      "reference_seconds": t_ref}
    print(f"  ours          {t_bt:7.2f} s  peak {m_bt:7.1f} MiB  Spearman vs truth "
          f"{out['bt_ours']['spearman_vs_truth']:.4f}  max |ours - reference solve| "
          f"{out['bt_ours']['max_abs_diff_vs_reference']:.2e} (L-BFGS reference {t_ref:.2f} s)")
    if not crowd_kit:
        return
    from crowdkit.aggregation import BradleyTerry  # heavy (pandas, scikit-learn): only when compared

    frame = pd.DataFrame({"worker": 0, "left": winners, "right": losers, "label": winners})
    ck_bt, t_ckbt, m_ckbt = measured(lambda: BradleyTerry(n_iter=100, tol=1e-5).fit(frame).scores_)
    ck_scores = ck_bt.reindex(range(n_items)).fillna(0).to_numpy()
    rho = float(spearmanr(scores, ck_scores)[0])
    out["bt_crowdkit"] = {"seconds": t_ckbt, "peak_mib": m_ckbt,
                          "spearman_vs_truth": float(spearmanr(ck_scores, strength)[0]),
                          "spearman_vs_ours": rho, "ratio": _ratio(t_ckbt, t_bt)}
    print(f"  crowd-kit     {t_ckbt:7.2f} s  peak {m_ckbt:7.1f} MiB  Spearman vs truth "
          f"{out['bt_crowdkit']['spearman_vs_truth']:.4f}  vs ours {rho:.4f}  -> ours {out['bt_crowdkit']['ratio']:.1f}x faster")


def _token_scores(outputs: list[str], truth: list[str]) -> dict:
    """Exact match (same token sequence) and word (syllable) error rate against the truth."""
    from rapidfuzz.distance import Levenshtein

    from consensus.text import tokenize

    exact, errors, length = 0, 0, 0
    for out, ref in zip(outputs, truth, strict=True):
        a, b = tokenize(out)[0], tokenize(ref)[0]
        exact += a == b
        errors += Levenshtein.distance(a, b)
        length += len(b)
    return {"exact": exact / max(len(truth), 1), "wer": errors / max(length, 1)}


def bench_text(out: dict, *, n_transcriptions: int, n_workers: int, crowd_kit: bool) -> None:
    import pandas as pd

    from consensus.text import medoid_text, text_consensus, tokenize

    for per_item in (2, 3, 5):
        n_items = n_transcriptions // per_item
        truth, items, workers, texts, trust = simulate_transcriptions(n_items, n_workers, per_item, seed=per_item)
        groups = [(texts[i * per_item:(i + 1) * per_item], trust[workers[i * per_item:(i + 1) * per_item]].tolist())
                  for i in range(n_items)]
        print(f"Text consensus, {per_item} answers: {len(texts):,} transcriptions, {n_items:,} items "
              f"(synthetic Vietnamese, 10% careless contributors)")
        entry: dict = {"first_answer": _token_scores([g[0][0] for g in groups], truth)}
        entry["medoid_unweighted"] = _token_scores([medoid_text(g)[0] for g, _w in groups], truth)
        entry["medoid"] = _token_scores([medoid_text(g, w)[0] for g, w in groups], truth)
        if per_item >= 3:
            voted, t_ours, _m = measured(lambda groups=groups: [text_consensus(g)[0] for g, _w in groups], memory=False)
            entry["ours_unweighted"] = {**_token_scores(voted, truth), "seconds": t_ours}
            entry["ours"] = _token_scores([text_consensus(g, w)[0] for g, w in groups], truth)
        else:
            entry["ours"] = entry["medoid"]
        if crowd_kit and per_item >= 3:
            from crowdkit.aggregation import ROVER  # heavy (pandas, scikit-learn): only when compared

            frame = pd.DataFrame({"task": items, "worker": workers, "text": texts})
            rover = ROVER(tokenizer=lambda s: tokenize(s)[0], detokenizer=" ".join)
            ck, t_ck, _m = measured(lambda frame=frame, rover=rover: rover.fit_predict(frame), memory=False)
            entry["rover_crowdkit"] = {**_token_scores(ck.reindex(range(n_items)).fillna("").tolist(), truth),
                                       "seconds": t_ck, "ratio": _ratio(t_ck, t_ours)}
        for name, scores in entry.items():
            timing = f"  {scores['seconds']:7.2f} s" if "seconds" in scores else ""
            ratio = f"  -> ours {scores['ratio']:.1f}x faster" if "ratio" in scores else ""
            print(f"  {name:18s} exact {scores['exact']:.4f}  WER {scores['wer']:.4f}{timing}{ratio}")
        out[f"text_{per_item}"] = entry


def verify(out: dict, *, full: bool) -> list[str]:
    """What the bench asserts about its own results; an empty list means every check held."""
    failures = []

    def expect(ok: bool, message: str) -> None:
        if not ok:
            failures.append(message)

    ds, mv = out["ds_ours"], out["mv_ours"]
    expect(ds["accuracy"] > mv["accuracy"], f"Dawid-Skene {ds['accuracy']:.4f} is not above majority vote "
                                            f"{mv['accuracy']:.4f} on a crowd with spammers")
    if "ds_crowdkit" in out:
        ck = out["ds_crowdkit"]
        expect(ck["label_agreement_with_ours"] >= 0.99, f"Dawid-Skene agrees with crowd-kit on only "
                                                        f"{ck['label_agreement_with_ours']:.4f} of items")
        expect(ds["accuracy"] >= ck["accuracy"] - 0.005, "Dawid-Skene less accurate than crowd-kit's")
    bt = out["bt_ours"]
    expect(bt["max_abs_diff_vs_reference"] < 1e-3, f"Bradley-Terry differs from the reference solve by "
                                                   f"{bt['max_abs_diff_vs_reference']:.2e}")
    if "bt_crowdkit" in out:
        expect(out["bt_crowdkit"]["spearman_vs_ours"] >= 0.99, "Bradley-Terry ranks differ from crowd-kit's")
    two = out["text_2"]
    expect(two["medoid"]["exact"] > two["first_answer"]["exact"], "with two answers the trusted medoid does not "
                                                                  "beat taking the first answer")
    for per_item in (3, 5):
        entry = out[f"text_{per_item}"]
        expect(entry["ours"]["exact"] > entry["medoid"]["exact"], f"{per_item} answers: the vote is not above the medoid")
        if "rover_crowdkit" in entry:
            ck = entry["rover_crowdkit"]
            # Like for like: our vote without trust weights against crowd-kit's (which has none), on exact match.
            expect(entry["ours_unweighted"]["exact"] >= ck["exact"],
                   f"{per_item} answers: less accurate than crowd-kit's ROVER")
            if full:  # timings at smoke sizes are noise
                expect(ck["ratio"] >= 10, f"{per_item} answers: only {ck['ratio']:.1f}x faster than crowd-kit's ROVER")
    return failures


def bench_algorithms(*, n_items: int, n_workers: int, k: int, per_item: int, n_bt_items: int,
                     n_comparisons: int, n_transcriptions: int, crowd_kit: bool = True) -> dict:
    out: dict = {}
    bench_dawid_skene(out, n_items=n_items, n_workers=n_workers, k=k, per_item=per_item, crowd_kit=crowd_kit)
    bench_bradley_terry(out, n_items=n_bt_items, n_comparisons=n_comparisons, crowd_kit=crowd_kit)
    bench_text(out, n_transcriptions=n_transcriptions, n_workers=max(n_workers // 4, 20), crowd_kit=crowd_kit)
    return out


# --- database re-score -------------------------------------------------------------------------


def seed_campaign(organization, *, n_items: int, n_workers: int, k: int, per_item: int, seed: int = 0,
                  gold_items: int = 0):
    """A moderation campaign whose answers come from ``simulate_crowd``; returns (campaign, truth, users).

    PostgreSQL: COPY into a staging table and two INSERT ... SELECT (assignments, then annotations).
    Other databases (small sizes only): the ORM.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from annotations.models import Annotation
    from contributors.models import ContributorProfile
    from tasks.models import Assignment, Campaign, Item
    from tasks.services import create_campaign, new_item

    categories = [{"key": f"c{i}", "label": f"Nhãn {i}"} for i in range(k)]
    campaign = create_campaign(organization=organization, name=f"bench {n_items}x{per_item}", task_type="moderation",
                               config={"categories": categories, "allow_escalation": False},
                               overlap=per_item, max_overlap=per_item + 2, confidence_threshold=0.7)
    truth, items, workers, labels, _acc = simulate_crowd(n_items, n_workers, k, per_item, seed=seed)
    keys = [c["key"] for c in categories]
    with transaction.atomic():
        rows = [new_item(campaign, payload={"text": f"bình luận {i}"},
                         gold_answer={"categories": [keys[truth[i]]]} if i < gold_items else None)
                for i in range(n_items)]
        for row in rows:
            row.done_count, row.open_slots = per_item, 0
        item_objs = Item.objects.bulk_create(rows, batch_size=5000)
        item_ids = np.array([o.pk for o in item_objs], dtype=np.int64)
        User = get_user_model()
        stamp = time.monotonic_ns()
        users = User.objects.bulk_create(
            [User(username=f"bench-{stamp}-{w}", email=f"bench-{stamp}-{w}@example.com") for w in range(n_workers)],
            batch_size=2000,
        )
        ContributorProfile.objects.bulk_create(
            [ContributorProfile(user=u, display_name=f"W{i}", region="north") for i, u in enumerate(users)],
            batch_size=2000,
        )
        user_ids = np.array([u.pk for u in users], dtype=np.int64)
        now = timezone.now()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS bench_answers")
                cursor.execute("CREATE TEMP TABLE bench_answers (item_id bigint, contributor_id int, payload jsonb) "
                               "ON COMMIT DROP")
                payloads = [json.dumps({"categories": [key]}) for key in keys]
                with cursor.copy("COPY bench_answers (item_id, contributor_id, payload) FROM STDIN") as copy:
                    for i, w, lab in zip(item_ids[items].tolist(), user_ids[workers].tolist(), labels.tolist(),
                                         strict=True):
                        copy.write_row((i, w, payloads[lab]))
                cursor.execute(
                    "INSERT INTO tasks_assignment (item_id, campaign_id, contributor_id, state, leased_at, expires_at,"
                    " finished_at, view, reason, region) SELECT item_id, %s, contributor_id, 'submitted', %s, %s, %s,"
                    " '{}'::jsonb, '', '' FROM bench_answers", [campaign.pk, now, now, now])
                cursor.execute(
                    "INSERT INTO annotations_annotation (assignment_id, item_id, campaign_id, contributor_id, payload,"
                    " is_gold, gold_correct, time_spent_ms, telemetry, created_at) SELECT a.id, s.item_id, %s,"
                    " s.contributor_id, s.payload, i.is_gold, NULL, 1000, '{}'::jsonb, %s FROM bench_answers s"
                    " JOIN tasks_assignment a ON a.item_id = s.item_id AND a.contributor_id = s.contributor_id"
                    " JOIN tasks_item i ON i.id = s.item_id", [campaign.pk, now])
        else:
            assignments = Assignment.objects.bulk_create([
                Assignment(item_id=int(item_ids[i]), campaign=campaign, contributor_id=int(user_ids[w]),
                           state=Assignment.State.SUBMITTED, expires_at=now, finished_at=now)
                for i, w in zip(items.tolist(), workers.tolist(), strict=True)
            ])
            Annotation.objects.bulk_create([
                Annotation(assignment=a, item_id=a.item_id, campaign=campaign, contributor_id=a.contributor_id,
                           payload={"categories": [keys[lab]]}, is_gold=int(i) < gold_items)
                for a, i, lab in zip(assignments, items.tolist(), labels.tolist(), strict=True)
            ])
        campaign.status = Campaign.Status.ACTIVE
        campaign.save(update_fields=["status"])
    return campaign, truth, user_ids


def reset_campaign(campaign_id: int, *, n_items: int, n_workers: int, k: int, per_item: int):
    """Put a campaign seeded earlier with the same sizes back to "never scored" (seeding 1M rows is slow)."""
    from django.db import transaction

    from annotations.models import Annotation, CampaignScoring, Consensus, ConsensusJob
    from contributors.models import TrustScore
    from tasks.models import Campaign, Item

    campaign = Campaign.objects.get(pk=campaign_id)
    with transaction.atomic():
        Consensus.objects.filter(campaign=campaign).delete()
        CampaignScoring.objects.filter(campaign=campaign).delete()
        ConsensusJob.objects.filter(campaign=campaign).delete()
        Item.objects.filter(campaign=campaign).update(target_overlap=per_item, open_slots=0)
        users = Annotation.objects.filter(campaign=campaign).values("contributor_id").distinct()
        TrustScore.objects.filter(contributor__user_id__in=users).update(consensus_seen=0, consensus_agreed=0)
    truth = simulate_crowd(n_items, n_workers, k, per_item, seed=3)[0]
    return campaign, truth


def bench_db_rescore(organization, *, n_items: int, n_workers: int, k: int, per_item: int,
                     reuse: int | None = None) -> dict:
    from annotations.models import Consensus
    from consensus.engine import rescore_campaign

    t = time.perf_counter()
    if reuse:
        campaign, truth = reset_campaign(reuse, n_items=n_items, n_workers=n_workers, k=k, per_item=per_item)
    else:
        campaign, truth, _users = seed_campaign(organization, n_items=n_items, n_workers=n_workers, k=k,
                                                per_item=per_item, seed=3, gold_items=min(100, n_items // 10))
    seeded = time.perf_counter() - t
    print(f"Campaign re-score through the database: {n_items * per_item:,} answers "
          f"{'reset' if reuse else 'seeded'} in {seeded:.1f} s (campaign {campaign.pk})")
    first, t_first, m_first = traced(lambda: rescore_campaign(campaign_id=campaign.pk))
    print(f"  first run  {t_first:7.2f} s  peak {m_first:7.1f} MiB  method {first['method']}  "
          f"states {first['states']}  trust counted {first['trust_counted']:,}")
    print(f"             stages {first['timings']}")
    second, t_second, m_second = traced(lambda: rescore_campaign(campaign_id=campaign.pk))
    print(f"  second run {t_second:7.2f} s  peak {m_second:7.1f} MiB  trust counted {second['trust_counted']:,} "
          "(must be 0)")
    print(f"             stages {second['timings']}")
    keys = [f"c{i}" for i in range(k)]
    decided = dict(Consensus.objects.filter(campaign=campaign).values_list("item_id", "result__categories"))
    from tasks.models import Item

    ids = list(Item.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    accuracy = float(np.mean([(decided.get(i) or [None])[0] == keys[t] for i, t in zip(ids, truth, strict=True)]))
    print(f"  stored consensus accuracy vs truth {accuracy:.4f}")
    return {"seed_seconds": seeded, "first": {**first, "seconds": t_first, "peak_mib": m_first},
            "second": {**second, "seconds": t_second, "peak_mib": m_second}, "accuracy": accuracy,
            "campaign_id": campaign.pk}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2_000)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--per-item", type=int, default=10)
    parser.add_argument("--bt-items", type=int, default=10_000)
    parser.add_argument("--comparisons", type=int, default=1_000_000)
    parser.add_argument("--transcriptions", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--skip-db", action="store_true")
    parser.add_argument("--skip-crowdkit", action="store_true")
    parser.add_argument("--skip-algorithms", action="store_true")
    parser.add_argument("--reuse-campaign", type=int, help="re-score a campaign seeded by an earlier run")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, current Django database (tests)")
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if args.smoke:
        args.items, args.workers, args.per_item, args.bt_items, args.comparisons = 400, 30, 5, 50, 2000
        args.transcriptions = 900
    results = {} if args.skip_algorithms else {"algorithms": bench_algorithms(
        n_items=args.items, n_workers=args.workers, k=args.classes, per_item=args.per_item,
        n_bt_items=args.bt_items, n_comparisons=args.comparisons, n_transcriptions=args.transcriptions,
        crowd_kit=not args.skip_crowdkit,
    )}
    failures = [] if args.skip_algorithms else verify(results["algorithms"], full=not args.smoke)
    results["failures"] = failures
    if not args.skip_db:
        if not args.smoke:
            ensure_database(args.database_url)
            django_setup(args.database_url)
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
        from organizations.models import Organization

        org, _created = Organization.objects.get_or_create(slug="bench-consensus", defaults={"name": "Bench"})
        results["db"] = bench_db_rescore(org, n_items=args.items, n_workers=args.workers, k=args.classes,
                                         per_item=args.per_item, reuse=args.reuse_campaign)
    print(json.dumps(results, default=float))
    for failure in failures:
        print(f"CHECK FAILED: {failure}", file=sys.stderr)
    if failures:
        raise SystemExit(1)
    print("All checks held.")
    return results


if __name__ == "__main__":
    main()
