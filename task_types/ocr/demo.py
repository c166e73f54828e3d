"""OCR demo content: Vietnamese notes, receipts and forms rendered as document images (no model, no download)."""
from __future__ import annotations

import io
import math
import random
from functools import lru_cache
from pathlib import Path

from assets.models import MediaAsset
from assets.services import store_demo_media

FONT_DIRS = [Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/truetype/dejavu"),
             Path("/usr/share/fonts/truetype/liberation")]
PRINTED_FONTS = ["NotoSerif-Regular.ttf", "DejaVuSerif.ttf", "LiberationSerif-Regular.ttf", "NotoSans-Regular.ttf",
                 "DejaVuSans.ttf"]
HANDWRITING_FONTS = ["NotoSerif-Italic.ttf", "DejaVuSerif-Italic.ttf", "LiberationSerif-Italic.ttf",
                     "NotoSans-Italic.ttf", "DejaVuSans-Oblique.ttf"]


@lru_cache(maxsize=8)
def _font_path(handwriting: bool) -> str | None:
    for name in HANDWRITING_FONTS if handwriting else PRINTED_FONTS:
        for folder in FONT_DIRS:
            if (folder / name).exists():
                return str(folder / name)
    return None


def _font(handwriting: bool, size: int):
    from PIL import ImageFont  # deferred: Pillow is only needed when demo documents are rendered

    path = _font_path(handwriting)
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def render_document(lines: list[str], *, handwriting: bool, seed: int) -> tuple[bytes, int, int, list]:
    """A PNG of the lines on paper (jittered ink for handwriting), with noise and a small rotation.

    Returns the bytes, the size and each line's box as a 4-point polygon in the rotated image.
    """
    import numpy as np  # deferred with Pillow: rendering runs only for the demo
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    size = 34 if handwriting else 30
    font = _font(handwriting, size)
    margin, line_gap = 40, int(size * 1.9)
    widths = [font.getbbox(line)[2] for line in lines]
    width = max(widths) + 2 * margin + 40
    height = 2 * margin + line_gap * len(lines)
    paper = Image.new("L", (width, height), 246)
    draw = ImageDraw.Draw(paper)
    if handwriting:  # ruled notebook paper
        for j in range(len(lines)):
            y = margin + j * line_gap + int(size * 1.25)
            draw.line([(margin - 10, y), (width - margin + 10, y)], fill=205, width=1)
    boxes = []
    for j, line in enumerate(lines):
        x = margin + (rng.randint(0, 20) if handwriting else 0)
        y = margin + j * line_gap
        if handwriting:  # word by word, wobbling baseline and ink
            cursor = x
            for word in line.split(" "):
                dy = rng.uniform(-3, 3)
                draw.text((cursor, y + dy), word, font=font, fill=rng.randint(20, 70))
                cursor += font.getbbox(word + " ")[2] + rng.uniform(-2, 3)
            right = cursor
        else:
            draw.text((x, y), line, font=font, fill=25)
            right = x + font.getbbox(line)[2]
        bbox = font.getbbox(line)
        boxes.append((x - 6, y + bbox[1] - 6, right + 6, y + bbox[3] + 8))
    pixels = np.asarray(paper, dtype=np.float32)
    noise = np.random.default_rng(seed).normal(0, 9 if handwriting else 6, pixels.shape)
    paper = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8), "L")
    paper = paper.filter(ImageFilter.GaussianBlur(0.6))
    angle = rng.uniform(-3.0, 3.0)
    rotated = paper.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=235)
    # Map each line box's corners through the same rotation (PIL rotates counter-clockwise about the centre).
    cx, cy = width / 2, height / 2
    nx, ny = rotated.size[0] / 2, rotated.size[1] / 2
    theta = math.radians(angle)
    cos_t, sin_t = math.cos(theta), math.sin(theta)

    def turn(px: float, py: float) -> list[float]:
        dx, dy = px - cx, py - cy
        rx = nx + dx * cos_t + dy * sin_t
        ry = ny - dx * sin_t + dy * cos_t
        return [round(min(max(rx, 0), rotated.size[0]), 1), round(min(max(ry, 0), rotated.size[1]), 1)]

    polygons = [[turn(x0, y0), turn(x1, y0), turn(x1, y1), turn(x0, y1)] for x0, y0, x1, y1 in boxes]
    out = io.BytesIO()
    rotated.convert("L").save(out, format="PNG")  # grey paper: a third of the RGB size
    return out.getvalue(), rotated.size[0], rotated.size[1], polygons


def render_demo_document(key: str, lines: list[str], *, handwriting: bool, seed: int) -> tuple[str, int, int, list]:
    """Render a demo document and store it under ``key`` (kept if already stored: the rendering is deterministic)."""
    def build():
        data, width, height, polygons = render_document(lines, handwriting=handwriting, seed=seed)
        return data, "image/png", {"width": width, "height": height, "format": "PNG", "line_polygons": polygons}

    info = store_demo_media(key, kind=MediaAsset.Kind.IMAGE, build=build,
                            keep=lambda asset: "line_polygons" in asset.info).info
    return key, info["width"], info["height"], info["line_polygons"]
