"""Reference backend: a Vietnamese moderation classifier (scikit-learn, CPU) retrained from each campaign's consensus.

    .venv/bin/python examples/ml_backends/moderation_sklearn.py --port 9301 [--token T] [--state-dir DIR]

Features are TF-IDF character n-grams of the text twice, as written and with its diacritics stripped, plus word
uni- and bigrams of the stripped syllables: Vietnamese typed without marks ("may ngu vl") then still meets the
same features as the marked text it stands for, while marked n-grams keep what the marks distinguish (the same
idea as the platform's ``core.vietnamese``, copied in a few lines so this file stays standalone). A multinomial
logistic regression gives calibrated-enough class probabilities: the ``distribution`` the platform ranks by.
Multi-label campaigns get one binary model per category. Severity, when the campaign requires it, is the
severity the crowd gave that category most often.
"""
from __future__ import annotations

import os
import pickle
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annotate_ml import BadRequest, Model, serve  # noqa: E402

INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")


def normalise(text: str) -> str:
    """NFC, invisible characters removed, lower case (core.schema.normalize_text + lower)."""
    return INVISIBLE.sub("", unicodedata.normalize("NFC", text or "")).lower()


def strip_marks(text: str) -> str:
    """Diacritics and tone marks removed, đ -> d (core.vietnamese.strip_diacritics)."""
    decomposed = unicodedata.normalize("NFD", normalise(text).replace("đ", "d"))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def features() -> FeatureUnion:
    return FeatureUnion([
        ("marked_chars", TfidfVectorizer(preprocessor=normalise, analyzer="char_wb", ngram_range=(2, 4),
                                         sublinear_tf=True, min_df=1)),
        ("stripped_chars", TfidfVectorizer(preprocessor=strip_marks, analyzer="char_wb", ngram_range=(2, 4),
                                           sublinear_tf=True, min_df=1)),
        ("stripped_words", TfidfVectorizer(preprocessor=strip_marks, token_pattern=r"(?u)\b\w+\b",
                                           ngram_range=(1, 2), sublinear_tf=True)),
    ])


class Prior:
    """A constant model for a question the consensus has given one answer so far (Laplace-smoothed frequencies)."""

    def __init__(self, counts: dict[str, int], classes: list[str]):
        total = sum(counts.values()) + len(classes)
        self.classes_ = np.array(classes)
        self.p = np.array([(counts.get(c, 0) + 1) / total for c in classes])

    def predict_proba(self, texts):
        return np.tile(self.p, (len(texts), 1))


def fit(texts: list[str], labels: list[str], classes: list[str]):
    counts = Counter(labels)
    if len(counts) < 2:
        return Prior(counts, classes)
    pipeline = make_pipeline(features(), LogisticRegression(C=4.0, max_iter=1000))
    return pipeline.fit(texts, labels)


def probabilities(model, texts: list[str], classes: list[str]) -> np.ndarray:
    """(n, len(classes)) probabilities over the campaign's categories; a class never seen gets 0."""
    p = model.predict_proba(texts)
    out = np.zeros((len(texts), len(classes)))
    index = {c: i for i, c in enumerate(classes)}
    for j, c in enumerate(model.classes_):
        out[:, index[str(c)]] = p[:, j]
    return out


class ModerationClassifier(Model):
    task_types = ("moderation",)

    def __init__(self):
        self.state: dict[str, dict] = {}  # campaign id -> {"models", "rounds", "severity", "categories"}
        self.state_dir: Path | None = None
        self.latest: str | None = None

    # --- command line --------------------------------------------------------------------------------
    def add_arguments(self, parser) -> None:
        parser.add_argument("--state-dir", default=os.environ.get("ML_BACKEND_STATE_DIR"),
                            help="keep each campaign's model here across restarts (pickle files this backend wrote)")

    def configure(self, args) -> None:
        if args.state_dir:
            self.state_dir = Path(args.state_dir)
            self.state_dir.mkdir(parents=True, exist_ok=True)
            for path in sorted(self.state_dir.glob("campaign-*.pickle")):
                with open(path, "rb") as fh:
                    self.state[path.stem.removeprefix("campaign-")] = pickle.load(fh)

    # --- protocol ------------------------------------------------------------------------------------
    def version(self, campaign: dict) -> str | None:
        state = self.state.get(str(campaign["id"]))
        return f"moderation-sklearn-{state['rounds']}" if state else None

    def latest_version(self) -> str | None:
        return self.latest

    def train(self, campaign: dict, examples: list[dict]) -> int:
        config = campaign["config"]
        keys, exclusive = categories(config)
        texts, answers = [], []
        for ex in examples:
            text = ex["data"].get("text")
            chosen = ex["answer"].get("categories") if isinstance(ex["answer"], dict) else None
            if isinstance(text, str) and text.strip() and isinstance(chosen, list) and chosen \
                    and all(c in keys for c in chosen):
                texts.append(text)
                answers.append(ex["answer"])
        if not texts:
            return 0
        if config.get("multi_label"):
            models = {k: fit(texts, ["yes" if k in a["categories"] else "no" for a in answers], ["no", "yes"])
                      for k in keys}
        else:
            models = {"category": fit(texts, [a["categories"][0] for a in answers], keys)}
        severity: dict[str, Counter] = {}
        for a in answers:
            for cat, level in (a.get("severity") or {}).items():
                severity.setdefault(cat, Counter())[level] += 1
        key = str(campaign["id"])
        rounds = self.state.get(key, {}).get("rounds", 0) + 1
        self.state[key] = {"models": models, "rounds": rounds, "categories": keys,
                           "severity": {c: n.most_common(1)[0][0] for c, n in severity.items()}}
        self.latest = f"moderation-sklearn-{rounds}"
        if self.state_dir:
            tmp = self.state_dir / f"campaign-{key}.pickle.tmp"
            with open(tmp, "wb") as fh:
                pickle.dump(self.state[key], fh)
            tmp.replace(self.state_dir / f"campaign-{key}.pickle")
        return len(texts)

    def predict(self, campaign: dict, items: list[dict]) -> list[dict]:
        config = campaign["config"]
        keys, exclusive = categories(config)
        state = self.state.get(str(campaign["id"]))
        if state is None or state["categories"] != keys:
            return []  # never trained for this campaign (or its categories changed): no suggestion yet
        usable = [it for it in items if isinstance(it["data"].get("text"), str) and it["data"]["text"].strip()]
        if not usable:
            return []
        texts = [it["data"]["text"] for it in usable]
        if config.get("multi_label"):
            yes = np.column_stack([probabilities(state["models"][k], texts, ["no", "yes"])[:, 1] for k in keys])
            return [self._multi(it["id"], row, keys, exclusive, config, state) for it, row in zip(usable, yes,
                                                                                                  strict=True)]
        p = probabilities(state["models"]["category"], texts, keys)
        out = []
        for it, row in zip(usable, p, strict=True):
            best = keys[int(row.argmax())]
            out.append({"item": it["id"], "answer": self._answer([best], exclusive, config, state),
                        "score": round(float(row.max()), 6),
                        "distribution": {k: round(float(v), 6) for k, v in zip(keys, row, strict=True)}})
        return out

    def _multi(self, item_id, yes: np.ndarray, keys, exclusive, config, state) -> dict:
        chosen = [k for k, p in zip(keys, yes, strict=True) if p > 0.5] or [keys[int(yes.argmax())]]
        if len(chosen) > 1 and exclusive & set(chosen):  # an exclusive category stands alone: keep the likelier side
            best_exclusive = max((k for k in chosen if k in exclusive), key=lambda k: yes[keys.index(k)])
            others = [k for k in chosen if k not in exclusive]
            if yes[keys.index(best_exclusive)] >= max(yes[keys.index(k)] for k in others):
                chosen = [best_exclusive]
            else:
                chosen = others
        # Confidence in the whole answer: the least sure of its per-category decisions.
        score = min(float(p if k in chosen else 1 - p) for k, p in zip(keys, yes, strict=True))
        return {"item": item_id, "answer": self._answer(chosen, exclusive, config, state), "score": round(score, 6)}

    @staticmethod
    def _answer(chosen: list[str], exclusive: set[str], config: dict, state: dict) -> dict:
        answer = {"categories": chosen}
        levels = config.get("severity_levels") or []
        if levels and config.get("severity_required", True):
            needs = [c for c in chosen if c not in exclusive]
            if needs:
                answer["severity"] = {c: state["severity"].get(c) if state["severity"].get(c) in levels
                                      else levels[len(levels) // 2] for c in needs}
        return answer


def categories(config: dict) -> tuple[list[str], set[str]]:
    cats = config.get("categories")
    if not isinstance(cats, list) or len(cats) < 2 or not all(isinstance(c, dict) and isinstance(c.get("key"), str)
                                                             for c in cats):
        raise BadRequest("campaign.config.categories: a list of at least two {key, label} objects is required")
    return [c["key"] for c in cats], {c["key"] for c in cats if c.get("exclusive")}


if __name__ == "__main__":
    serve(ModerationClassifier(), description=__doc__.splitlines()[0])
