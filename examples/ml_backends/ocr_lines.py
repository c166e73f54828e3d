"""Reference OCR adapter: line-region drafts for ``ocr`` campaigns in ``regions`` mode, from a pluggable recogniser.

    .venv/bin/python examples/ml_backends/ocr_lines.py --port 9302 --media-root /path/to/platform/media

No package on the index ships Vietnamese OCR weights this project can use (see README.md: ``vncv`` ships ONNX
weights but under a licence that forbids building a competing service on it, and pulls in OpenCV and ONNX
Runtime), so the recogniser here is a deliberately tiny one the campaign trains itself: ``NearestLine``
remembers each consensus line crop and reads a new crop as the text of its nearest neighbour (cosine similarity
of 24x192 grey thumbnails), if it is close enough. It helps where documents repeat (form headers, receipts of one
shop, a printed template) and is honest about everything else: below the threshold it suggests nothing.
Replace ``NearestLine`` with any object that has ``fit(crops, texts)`` and ``read(crops) -> [(text, confidence)]``
(a VietOCR-style recogniser over the same crops) and the protocol side stays as it is.

The image is read from the platform's media storage by its key (``--media-root``: the platform's
``MEDIA_ROOT`` on a shared disk); the item's pre-detected ``regions`` are the lines to read. Items without
regions, or whose image cannot be read, are left out of the suggestions.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annotate_ml import BadRequest, Model, serve  # noqa: E402

KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,249}$")
THUMB = (96, 12)  # width, height: a text line's shape, coarse enough to ignore jitter and noise


def box_of(region: dict) -> tuple[float, float, float, float] | None:
    """The region's bounding box (x0, y0, x1, y1), or None when it is not a well-formed rect or polygon."""
    try:
        if region.get("shape") == "rect":
            return region["x"], region["y"], region["x"] + region["w"], region["y"] + region["h"]
        xs = [float(p[0]) for p in region["points"]]
        ys = [float(p[1]) for p in region["points"]]
        return min(xs), min(ys), max(xs), max(ys)
    except (KeyError, TypeError, IndexError, ValueError):
        return None


def thumbnail(image: Image.Image, box: tuple[float, float, float, float]) -> np.ndarray | None:
    """A unit-length, zero-mean vector of the crop's ink (dark = positive), resized to one line shape, followed
    by the crop's log aspect ratio (lines of different lengths must not match once stretched alike)."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, image.width), min(y1, image.height)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    crop = np.asarray(image.crop((x0, y0, x1, y1)).resize(THUMB, Image.BILINEAR), dtype=np.float32)
    ink = 255.0 - crop
    ink -= ink.mean()
    norm = float(np.linalg.norm(ink))
    if norm == 0:
        return None
    return np.append((ink / norm).ravel(), np.log((x1 - x0) / (y1 - y0))).astype(np.float32)


class NearestLine:
    """The tiny recogniser: the text of the most similar remembered line, with that similarity as confidence."""

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold
        self.vectors = np.zeros((0, THUMB[0] * THUMB[1] + 1), dtype=np.float32)
        self.texts: list[str] = []

    def fit(self, crops: list[np.ndarray], texts: list[str]) -> None:
        self.vectors = np.vstack(crops).astype(np.float32) if crops else self.vectors[:0]
        self.texts = list(texts)

    def read(self, crops: list[np.ndarray]) -> list[tuple[str | None, float]]:
        if not self.texts or not crops:
            return [(None, 0.0)] * len(crops)
        crops = np.vstack(crops)
        similarity = crops[:, :-1] @ self.vectors[:, :-1].T
        # A line twice as long (or short) as the remembered one loses a third of its similarity.
        similarity *= np.exp(-0.6 * np.abs(crops[:, -1:] - self.vectors[:, -1][None, :]))
        best = similarity.argmax(axis=1)
        out = []
        for row, j in enumerate(best):
            score = float(np.clip(similarity[row, j], 0.0, 1.0))
            out.append((self.texts[j], score) if score >= self.threshold else (None, score))
        return out


class OCRLines(Model):
    task_types = ("ocr",)

    def __init__(self):
        self.media_root: Path | None = None
        self.threshold = 0.5
        self.state: dict[str, dict] = {}
        self.latest: str | None = None

    def add_arguments(self, parser) -> None:
        parser.add_argument("--media-root", default=os.environ.get("MEDIA_ROOT"),
                            help="the platform's MEDIA_ROOT: image keys are read from here")
        parser.add_argument("--threshold", type=float, default=0.5, help="least similarity to suggest a line")

    def configure(self, args) -> None:
        self.media_root = Path(args.media_root).resolve() if args.media_root else None
        self.threshold = args.threshold

    def version(self, campaign: dict) -> str | None:
        state = self.state.get(str(campaign["id"]))
        return f"ocr-nearest-line-{state['rounds']}" if state else None

    def latest_version(self) -> str | None:
        return self.latest

    def _image(self, data: dict) -> Image.Image | None:
        key = data.get("image")
        if self.media_root is None or not isinstance(key, str) or not KEY_RE.match(key) or ".." in key.split("/"):
            return None
        path = (self.media_root / key).resolve()
        if not path.is_relative_to(self.media_root) or not path.is_file():
            return None
        try:
            with Image.open(path) as img:
                return img.convert("L")
        except OSError:
            return None

    @staticmethod
    def _mode(campaign: dict) -> None:
        if campaign["config"].get("mode") != "regions":
            raise BadRequest("campaign.config.mode: this backend drafts 'regions' campaigns only", status=422)

    def train(self, campaign: dict, examples: list[dict]) -> int:
        self._mode(campaign)
        crops, texts, used = [], [], 0
        for ex in examples:
            regions = ex["answer"].get("regions") if isinstance(ex["answer"], dict) else None
            image = self._image(ex["data"]) if isinstance(regions, list) else None
            if image is None:
                continue
            before = len(texts)
            for region in regions:
                box = box_of(region) if isinstance(region, dict) else None
                text = region.get("text") if isinstance(region, dict) else None
                vector = thumbnail(image, box) if box else None
                if vector is not None and isinstance(text, str) and text.strip():
                    crops.append(vector)
                    texts.append(text.strip())
            used += len(texts) > before
        if not used:
            return 0
        recogniser = NearestLine(self.threshold)
        recogniser.fit(crops, texts)
        key = str(campaign["id"])
        rounds = self.state.get(key, {}).get("rounds", 0) + 1
        self.state[key] = {"recogniser": recogniser, "rounds": rounds}
        self.latest = f"ocr-nearest-line-{rounds}"
        return used

    def predict(self, campaign: dict, items: list[dict]) -> list[dict]:
        self._mode(campaign)
        state = self.state.get(str(campaign["id"]))
        if state is None:
            return []
        shapes = campaign["config"].get("shapes") or ["rect", "polygon"]
        out = []
        for item in items:
            regions = [r for r in item["data"].get("regions") or [] if isinstance(r, dict) and r.get("shape") in shapes]
            image = self._image(item["data"]) if regions else None
            if image is None:
                continue
            boxes = [box_of(r) for r in regions]
            vectors = [thumbnail(image, b) if b else None for b in boxes]
            readable = [(r, v) for r, v in zip(regions, vectors, strict=True) if v is not None]
            reads = state["recogniser"].read([v for _r, v in readable])
            drafted = [({k: v for k, v in r.items() if k != "text"}, text, conf)
                       for (r, _v), (text, conf) in zip(readable, reads, strict=True) if text]
            if not drafted:
                continue
            out.append({"item": item["id"],
                        "answer": {"regions": [{**r, "text": text} for r, text, _c in drafted]},
                        # Confidence in the draft as a whole: the share of lines read times their mean similarity.
                        "score": round(len(drafted) / len(regions) * float(np.mean([c for *_x, c in drafted])), 6)})
        return out


if __name__ == "__main__":
    serve(OCRLines(), description=__doc__.splitlines()[0])
