"""Active-learning simulation: does asking the crowd about the model's least certain items first save answers?

    .venv/bin/python bench/active_learning.py                  # 1,000 comments, 5 seeds, 4 orderings
    .venv/bin/python bench/active_learning.py --smoke          # 300 comments, 2 seeds (the test suite runs this)
    .venv/bin/python bench/active_learning.py --items 3000 --seeds 10 --target 0.9

Data: ``synthetic_corpus`` ("vi-moderation-synth", made here, no download): Vietnamese social-media comments
from templates and slot fillers for the moderation task type's default categories (safe, spam, harassment,
hate, violence; about 50/18/12/8/12 %); a third are two sentences from two classes where the guideline's
most serious class wins (a threat inside a sales pitch is violence), a quarter typed without diacritics, a tenth
in teen code, and safe comments that borrow violent words ("giết thời gian").

Crowd: 25 workers with accuracy uniform in [0.6, 0.9]; a wrong answer is uniform over the other categories.
Each item asked gets 3 answers from distinct workers; its consensus is the majority vote (a tie goes to the
model's likelier class, else the first vote).

Loop (one run = one ordering and one seed): 20 random items are labelled first (the same 20 for every ordering
of a seed); then, each round, the reference backend ``examples/ml_backends/moderation_sklearn.py`` (a real
process, over HTTP, the ``annotate-ml/1`` protocol) is retrained on every consensus so far and predicts the
unlabelled pool; the next 30 items are chosen by the ordering (random, or the highest least-confident
``1 - max p``, margin ``1 - (p1 - p2)`` or normalised entropy). Accuracy is that of the campaign's labels:
consensus where the crowd answered, the model's answer elsewhere, against the truth.

Prints, per ordering, the answers needed to first reach the target accuracy (mean and a 95% t-interval over
seeds, and each seed's figure) and the accuracy at a few answer budgets. The last line is JSON.
"""
from __future__ import annotations

import argparse
import http.client
import json
import math
import random
import socket
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "examples" / "ml_backends" / "moderation_sklearn.py"
PROTOCOL = "annotate-ml/1"
CATEGORIES = [
    {"key": "safe", "label": "An toàn", "exclusive": True},
    {"key": "hate", "label": "Thù ghét"},
    {"key": "harassment", "label": "Quấy rối"},
    {"key": "spam", "label": "Spam / lừa đảo"},
    {"key": "violence", "label": "Bạo lực"},
]
CONFIG = {"categories": CATEGORIES, "multi_label": False, "severity_levels": [], "severity_required": True,
          "allow_escalation": True}
KEYS = [c["key"] for c in CATEGORIES]
ORDERINGS = ("random", "least_confident", "margin", "entropy")

# --- the corpus ------------------------------------------------------------------------------------------

FILL = {
    "food": ["phở bò", "bún chả", "bánh mì", "cơm tấm", "bún bò Huế", "cà phê sữa đá", "trà sữa", "bánh xèo", "lẩu thái",
             "chè ba màu"],
    "place": ["Hà Nội", "Sài Gòn", "Đà Nẵng", "Huế", "Hội An", "Cần Thơ", "Đà Lạt", "Nha Trang", "Hải Phòng", "Vũng Tàu"],
    "thing": ["điện thoại", "laptop", "xe máy", "áo khoác", "giày", "tai nghe", "nồi cơm điện", "kem chống nắng"],
    "person": ["thằng kia", "con bé đó", "ông chủ thớt", "bà kia", "thằng admin", "mấy đứa comment", "con kia"],
    "group": ["người miền Tây", "dân Bắc Kỳ", "người dân tộc", "bọn Tàu", "dân nhập cư", "người đồng tính",
              "bọn nhà quê", "dân tỉnh lẻ"],
    "insult": ["ngu như bò", "óc chó", "mặt dày", "vô học", "đồ rác rưởi", "não phẳng", "đồ thất học", "loại mất dạy"],
    "money": ["5 triệu", "10 triệu", "500k", "2 triệu", "1 tỷ", "300 nghìn", "50 triệu"],
    "link": ["bit.ly/qua-tang", "tinyurl.com/nhanqua", "vay-nhanh.vn", "zalo 09xx.xxx.xxx", "t.me/kiemtien",
             "shopee-sale.top"],
    "harm": ["đánh cho nhừ tử", "chém", "đốt nhà", "xử đẹp", "cho ăn đòn", "đâm", "tạt axit"],
    "team": ["đội tuyển", "Hoàng Anh Gia Lai", "Công an Hà Nội", "tuyển Việt Nam", "Thể Công"],
}

TEMPLATES = {
    "safe": [
        "Quán {food} ở {place} ngon lắm, mọi người nên thử nhé!",
        "Hôm nay trời {place} đẹp quá, đi dạo thôi.",
        "Cho mình hỏi mua {thing} ở đâu tại {place} uy tín ạ?",
        "Mình vừa mua {thing} mới, dùng khá ổn, giá cũng hợp lý.",
        "Cuối tuần này ai đi {place} không, cho mình đi ké với.",
        "Trận hôm qua {team} đá hay thật, tự hào quá.",
        "Chúc mọi người một ngày làm việc hiệu quả.",
        "Ăn {food} xong đi uống {food} là chuẩn bài luôn.",
        "Ngồi chơi game giết thời gian thôi, chán quá.",
        "Phim này xem muốn đánh rơi nước mắt luôn á.",
        "Bài này hay ghê, ai có link nghe full không?",
        "Shop ơi {thing} này còn màu đen không ạ?",
        "Cảm ơn bạn đã chia sẻ, thông tin rất hữu ích.",
        "Đường từ {place} đi {place} giờ này có kẹt xe không mọi người?",
        "Con mèo nhà mình hôm nay nghịch quá trời.",
    ],
    "spam": [
        "Bấm vào {link} để nhận {money} miễn phí, chỉ hôm nay!!!",
        "Tuyển cộng tác viên online, việc nhẹ lương cao {money}/tháng, liên hệ {link}",
        "Vay tiền nhanh không cần thế chấp, giải ngân {money} trong 5 phút: {link}",
        "Thanh lý {thing} giá sốc chỉ {money}, inbox ngay hoặc vào {link}",
        "Chúc mừng bạn trúng thưởng {money}, gửi mã OTP để nhận quà.",
        "Ship cod toàn quốc {thing} chính hãng, zalo 09xx.xxx.xxx",
        "Kiếm {money} mỗi ngày tại nhà, đăng ký tại {link}",
        "Mua 1 tặng 1 {thing}, số lượng có hạn, vào {link} ngay!",
        "Đầu tư tiền ảo lãi 30%/tháng, cam kết hoàn vốn, nhắn {link}",
    ],
    "harassment": [
        "{person} {insult}, im mồm đi cho người khác nói.",
        "Đồ {insult}, ai cho mày bình luận ở đây?",
        "Mày nhìn lại cái mặt mày đi, {insult}.",
        "{person} đúng là {insult}, nói chuyện với mày phí thời gian.",
        "Câm mồm đi {person}, {insult} mà cũng bày đặt.",
        "Xấu như mày thì đăng ảnh làm gì, {insult}.",
        "Ai quen {person} thì nhắn nó đừng lên mạng nữa, {insult} quá.",
    ],
    "hate": [
        "Bọn {group} đều là lũ lừa đảo, đừng tin.",
        "{group} thì chỉ có ăn bám xã hội thôi.",
        "Đuổi hết {group} ra khỏi thành phố này đi.",
        "{group} toàn một lũ mọi rợ, không đáng làm người.",
        "Thuê nhà tránh {group} ra, bọn đó bẩn lắm.",
        "Nhìn là biết {group}, cái loại đó thì làm được gì.",
    ],
    "violence": [
        "Mày mà còn bình luận nữa thì tao đến tận nhà {harm}.",
        "Ai không đồng ý với tôi thì đáng bị {harm}.",
        "Gặp {person} ngoài đường là tao {harm} liền.",
        "Để tao biết nhà mày ở {place} thì mày xác định bị {harm}.",
        "Tối nay ra {place} tao với anh em {harm} cả nhà nó.",
        "Ai chê {team} thì cứ chờ đấy, ra đường đừng trách bị {harm}.",
    ],
}
SHARES = {"safe": 0.50, "spam": 0.18, "harassment": 0.12, "hate": 0.08, "violence": 0.12}
TEEN = {"không": "ko", "được": "dc", "biết": "bít", "vậy": "z", "quá": "wá", "rồi": "r", "mày": "m", "tao": "t"}


def strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


PRECEDENCE = ["violence", "hate", "harassment", "spam", "safe"]  # the guideline: the most serious one wins


def _fill(template: str, rng: random.Random) -> str:
    while "{" in template:
        start = template.index("{")
        slot = template[start + 1:template.index("}", start)]
        template = template.replace("{" + slot + "}", rng.choice(FILL[slot]), 1)
    return template


def synthetic_corpus(n: int, *, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` Vietnamese comments and their true categories ("vi-moderation-synth"): templates with slot fillers,
    a third of them two sentences from two classes where the guideline's most serious class wins (a threat in a
    sales pitch is violence, an insult in a food review is harassment), a quarter without diacritics, a tenth
    in teen code, so the classes overlap and a model needs examples of the combinations."""
    rng = random.Random(seed)
    labels = rng.choices(list(SHARES), weights=list(SHARES.values()), k=n)
    texts = []
    for i, label in enumerate(labels):
        text = _fill(rng.choice(TEMPLATES[label]), rng)
        if rng.random() < 0.35:  # a second sentence from a class this one outranks (or safe chatter)
            lower = PRECEDENCE[PRECEDENCE.index(label) + 1:] or ["safe"]
            other = _fill(rng.choice(TEMPLATES[rng.choice(lower)]), rng)
            if label == "safe":  # two safe sentences stay safe
                other = _fill(rng.choice(TEMPLATES["safe"]), rng)
            text = f"{other} {text}" if rng.random() < 0.5 else f"{text} {other}"
        if rng.random() < 0.10:
            text = " ".join(TEEN.get(w, w) for w in text.split())
        if rng.random() < 0.25:
            text = strip_marks(text)
        if rng.random() < 0.3:
            text = text.lower()
        texts.append(text)
        labels[i] = label
    return texts, labels


# --- the crowd --------------------------------------------------------------------------------------------


def crowd_answers(truth: int, k: int, workers: np.ndarray, rng: np.random.Generator, per_item: int) -> list[int]:
    """``per_item`` answers from distinct workers: right with the worker's accuracy, else uniform over the rest."""
    chosen = rng.choice(len(workers), size=per_item, replace=False)
    out = []
    for w in chosen:
        if rng.random() < workers[w]:
            out.append(truth)
        else:
            out.append(int(rng.choice([c for c in range(k) if c != truth])))
    return out


def consensus(votes: list[int], k: int, model_p: np.ndarray | None) -> int:
    counts = np.bincount(votes, minlength=k)
    top = np.flatnonzero(counts == counts.max())
    if len(top) == 1:
        return int(top[0])
    if model_p is not None:
        return int(top[np.argmax(model_p[top])])
    return votes[0]


# --- the backend over HTTP --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Backend:
    """The reference backend as a real process; ``call`` speaks the protocol."""

    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, str(BACKEND), "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 30
        while True:
            try:
                if self.call("GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("the moderation backend did not start")
            time.sleep(0.1)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        data = json.dumps({"protocol": PROTOCOL, **body}).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        res = conn.getresponse()
        payload = json.loads(res.read() or b"{}")
        conn.close()
        return res.status, payload

    def train(self, campaign: dict, texts: list[str], labels: dict[int, int]) -> None:
        examples = [{"item": i, "data": {"text": texts[i]}, "answer": {"categories": [KEYS[c]]}}
                    for i, c in labels.items()]
        status, body = self.call("POST", "/train", {"campaign": campaign, "examples": examples})
        assert status == 200, body

    def predict(self, campaign: dict, texts: list[str], ids: list[int]) -> np.ndarray:
        """(len(ids), K) class probabilities; uniform rows for items the backend left out."""
        out = np.full((len(ids), len(KEYS)), 1 / len(KEYS))
        row = {item: j for j, item in enumerate(ids)}
        for start in range(0, len(ids), 64):
            batch = ids[start:start + 64]
            status, body = self.call("POST", "/predict", {"campaign": campaign, "items": [
                {"id": i, "data": {"text": texts[i]}} for i in batch]})
            assert status == 200, body
            for s in body["suggestions"]:
                out[row[s["item"]]] = [s["distribution"][k] for k in KEYS]
        return out

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# --- the loop ---------------------------------------------------------------------------------------------


def uncertainty(p: np.ndarray, ordering: str) -> np.ndarray:
    """The platform's three measures (docs/ml-backends.md): higher is less certain."""
    if ordering == "least_confident":
        return 1 - p.max(axis=1)
    if ordering == "margin":
        top2 = np.sort(p, axis=1)[:, -2:]
        return 1 - (top2[:, 1] - top2[:, 0])
    if ordering == "entropy":
        return -(p * np.log(np.clip(p, 1e-12, 1))).sum(axis=1) / math.log(p.shape[1])
    raise ValueError(ordering)


def run(backend: Backend, texts: list[str], truth: np.ndarray, *, ordering: str, seed: int, campaign_id: int,
        batch: int, initial: int, per_item: int, max_answers: int, workers: np.ndarray) -> list[tuple[int, float]]:
    """One simulated campaign; returns (answers so far, accuracy of consensus + model labels) after each round."""
    k = len(KEYS)
    n = len(texts)
    crowd_rng = np.random.default_rng(10_000 + seed)  # same crowd behaviour stream shape for every ordering
    order_rng = np.random.default_rng(20_000 + seed)
    campaign = {"id": campaign_id, "task_type": "moderation", "config": CONFIG}
    labels: dict[int, int] = {}
    first = np.random.default_rng(seed).choice(n, size=initial, replace=False)
    probs = None
    ask = [int(i) for i in first]
    curve = []
    answers = 0
    while True:
        for i in ask:
            votes = crowd_answers(int(truth[i]), k, workers, crowd_rng, per_item)
            labels[i] = consensus(votes, k, probs[i] if probs is not None else None)
            answers += per_item
        backend.train(campaign, texts, labels)
        open_items = np.array([i for i in range(n) if i not in labels], dtype=int)
        probs = np.zeros((n, k))
        if len(open_items):  # the model only speaks for items the crowd has not answered
            probs[open_items] = backend.predict(campaign, texts, [int(i) for i in open_items])
        final = np.array([labels[i] if i in labels else int(probs[i].argmax()) for i in range(n)])
        curve.append((answers, float((final == truth).mean())))
        if answers >= max_answers or not len(open_items):
            return curve
        if ordering == "random":
            ask = [int(i) for i in order_rng.choice(open_items, size=min(batch, len(open_items)), replace=False)]
        else:
            u = uncertainty(probs[open_items], ordering)
            ask = [int(i) for i in open_items[np.argsort(-u, kind="stable")[:batch]]]


def answers_to_reach(curve: list[tuple[int, float]], target: float) -> int | None:
    return next((a for a, acc in curve if acc >= target), None)


def interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and a two-sided 95% Student-t interval over seeds."""
    from scipy import stats

    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    if len(arr) < 2:
        return mean, mean, mean
    half = float(stats.t.ppf(0.975, len(arr) - 1) * arr.std(ddof=1) / math.sqrt(len(arr)))
    return mean, mean - half, mean + half


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--target", type=float, default=0.92)
    parser.add_argument("--batch", type=int, default=30, help="items asked per round")
    parser.add_argument("--initial", type=int, default=20, help="random items labelled before the first model")
    parser.add_argument("--per-item", type=int, default=3, help="answers per item")
    parser.add_argument("--max-answers", type=int, default=None, help="default: 3 answers x 40%% of the items")
    parser.add_argument("--workers", type=int, default=25)
    parser.add_argument("--smoke", action="store_true", help="300 items, 2 seeds")
    args = parser.parse_args(argv)
    if args.smoke:
        args.items, args.seeds = 300, 2
    max_answers = args.max_answers or int(args.per_item * args.items * 0.4)
    texts, names = synthetic_corpus(args.items, seed=12345)
    truth = np.array([KEYS.index(c) for c in names])
    budgets = [b for b in (150, 300, 600, 900, 1200, 1800) if b <= max_answers]
    started = time.time()
    results = {o: {"reach": [], "curves": []} for o in ORDERINGS}
    backend = Backend()
    try:
        campaign_id = 0
        for seed in range(args.seeds):
            workers = np.random.default_rng(seed).uniform(0.6, 0.9, args.workers)
            for ordering in ORDERINGS:
                campaign_id += 1
                curve = run(backend, texts, truth, ordering=ordering, seed=seed, campaign_id=campaign_id,
                            batch=args.batch, initial=args.initial, per_item=args.per_item,
                            max_answers=max_answers, workers=workers)
                results[ordering]["curves"].append(curve)
                results[ordering]["reach"].append(answers_to_reach(curve, args.target))
                print(f"seed {seed} {ordering}: {answers_to_reach(curve, args.target)} answers to target, "
                      f"{time.time() - started:.0f} s", file=sys.stderr, flush=True)
    finally:
        backend.close()
    print(f"data: vi-moderation-synth, {args.items} comments (seed 12345), classes "
          + ", ".join(f"{k} {np.mean(truth == i):.0%}" for i, k in enumerate(KEYS)))
    print(f"crowd: {args.workers} workers, accuracy U(0.6, 0.9), {args.per_item} answers per item, majority vote; "
          f"{args.initial} random items first, then {args.batch} per round; {args.seeds} seeds; "
          f"budget {max_answers} answers")
    print(f"answers needed to reach {args.target:.0%} accuracy of consensus+model labels (mean, 95% t-interval "
          f"over seeds; '-' = not reached within the budget, counted as the budget):")
    summary = {}
    for ordering in ORDERINGS:
        reach = results[ordering]["reach"]
        filled = [r if r is not None else max_answers for r in reach]
        mean, lo, hi = interval(filled)
        at = {b: interval([next((acc for a, acc in reversed(c) if a <= b), 0.0) for c in results[ordering]["curves"]])
              for b in budgets}
        summary[ordering] = {"answers_to_target": [r for r in reach], "mean": round(mean, 1),
                             "ci95": [round(lo, 1), round(hi, 1)], "reached": sum(r is not None for r in reach),
                             "accuracy_at": {str(b): [round(v, 4) for v in at[b]] for b in budgets}}
        print(f"  {ordering:16s} {mean:7.0f}  [{lo:6.0f}, {hi:6.0f}]  per seed: "
              + " ".join("-" if r is None else str(r) for r in reach))
    print("accuracy of consensus+model labels at an answer budget (mean [95% interval]):")
    print("  " + " " * 16 + "".join(f"{b:>22d}" for b in budgets))
    for ordering in ORDERINGS:
        cells = "".join(f"{m:>10.3f} [{lo:.3f},{hi:.3f}]"[-22:].rjust(22)
                        for m, lo, hi in (summary[ordering]["accuracy_at"][str(b)] for b in budgets))
        print(f"  {ordering:16s}{cells}")
    result = {"data": "vi-moderation-synth", "items": args.items, "seeds": args.seeds, "target": args.target,
              "max_answers": max_answers, "orderings": summary, "seconds": round(time.time() - started, 1)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
