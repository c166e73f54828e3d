"""Page interactivity benchmark: drag one object among 500 on a 4K image in Debian's Chromium.

    .venv/bin/python bench/image_page_drag.py                  # 3840x2160, 500 objects, 120 drag steps
    .venv/bin/python bench/image_page_drag.py --objects 50 --steps 30   # smoke size (the test suite runs this)
    .venv/bin/python bench/image_page_drag.py --width 7744 --height 5164 --gesture pan   # 40 MP, deep-zoom tiles
    .venv/bin/python bench/image_page_drag.py --width 7744 --height 5164 --gesture pan --no-tiles  # whole image

Loads the image type's real page partial (task_types/image/image.html, its translate tags resolved to the
English text), its scripts (rle.js, image.js) and styles into a bare page at 1366x900, renders an item whose
pre-annotations are ``--objects`` shapes (boxes, polygons, keypoints; a 4K PNG drawn with Pillow), then
drags one box with the mouse in ``--steps`` moves (``--gesture pan``: drags empty space, so the whole view
moves and the image is redrawn every frame). A requestAnimationFrame loop in the page records frame times
(Performance API, ``performance.now()``) during the drag; the canvas redraws at most once a frame.
An image over tiles.MIN_PIXELS is served as the server's deep-zoom pyramid (task_types/image/tiles.py, the
same Pillow code as at import), unless ``--no-tiles``.
Prints frames per second over the drag and the 95th percentile frame time; the last line is JSON.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "task_types" / "image"
CHROMIUM = "/usr/bin/chromium"


def page_html(width: int, height: int, objects: list[dict], tiles: bool = True) -> str:
    from PIL import Image, ImageDraw

    sys.path.insert(0, str(ROOT))
    from task_types.image import tiles as dz  # pure Pillow: the bench needs no Django

    image = Image.new("RGB", (width, height), (120, 140, 160))
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 160):
        draw.line([(x, 0), (x, height)], fill=(90, 100, 110), width=3)
    for y in range(0, height, 160):
        draw.line([(0, y), (width, y)], fill=(150, 110, 90), width=3)
    payload = {"image": "bench.png", "width": width, "height": height, "pre_annotations": objects}
    if tiles and dz.wants_tiles(width, height):
        media = {f"tile:{lv}:{c}:{r}": "data:image/jpeg;base64," + base64.b64encode(data).decode()
                 for lv, c, r, data, _size in dz.pyramid(image)}
        payload["tiles"] = {"size": dz.TILE, "levels": dz.level_count(width, height)}
    else:
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        media = {"image": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()}
    partial = (PACKAGE / "image.html").read_text()
    partial = re.sub(r"\{% load [^%]*%\}", "", partial)
    partial = re.sub(r"""\{% translate (["'])(.*?)\1 %\}""", lambda m: m.group(2), partial)
    partial = re.sub(r"\{% url [^%]*%\}", "/m/0/", partial)
    config = {"tools": ["box", "polygon", "keypoints"], "labels": [{"name": "car"}, {"name": "person"}],
              "skeleton": {"points": ["a", "b", "c"], "edges": [[1, 2], [2, 3]]}}
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<style>{(PACKAGE / "image.css").read_text()} body {{ margin: 0; font-family: sans-serif; }}</style></head>
<body><div id="area">{partial}</div>
<script>window.fetch = async () => ({{ ok: true, json: async () => ({{ media: {json.dumps(media)} }}) }});</script>
<script>{(PACKAGE / "rle.js").read_text()}</script>
<script>{(PACKAGE / "image.js").read_text()}</script>
<script>
window.TaskTypes.image.render(document.getElementById("area"), {json.dumps(payload)}, {json.dumps(config)}, {{}}, {{ id: 1 }});
window.frameTimes = [];
window.recording = false;
(function loop(t) {{ if (window.recording) window.frameTimes.push(t); requestAnimationFrame(loop); }})(performance.now());
</script></body></html>"""


def make_objects(n: int, width: int, height: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(1, n):
        x, y = rng.uniform(0, width - 300), rng.uniform(0, height - 300)
        while x < 400 and y < 400:  # the top-left corner stays empty: the pan gesture starts there
            x, y = rng.uniform(0, width - 300), rng.uniform(0, height - 300)
        kind = ("box", "polygon", "keypoints")[i % 3]
        if kind == "box":
            obj = {"type": "box", "bbox": [round(x, 1), round(y, 1), rng.uniform(20, 280), rng.uniform(20, 280)]}
        elif kind == "polygon":
            obj = {"type": "polygon", "points": [[x + rng.uniform(0, 280), y + rng.uniform(0, 280)] for _ in range(8)]}
        else:
            obj = {"type": "keypoints", "keypoints": [[x + 10, y + 10, 2], [x + 60, y + 90, 2], [x + 120, y + 20, 2]]}
        out.append({"id": f"p{i}", "label": ("car", "person")[i % 2], **obj})
    # The dragged box last: drawn on top, so the press lands on it.
    return out + [{"id": "p0", "type": "box", "label": "car", "bbox": [400, 400, 300, 200]}]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=500)
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--width", type=int, default=3840)
    parser.add_argument("--height", type=int, default=2160)
    parser.add_argument("--gesture", choices=["drag", "pan"], default="drag")
    parser.add_argument("--no-tiles", dest="tiles", action="store_false", help="draw a large image whole")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    html = page_html(args.width, args.height, make_objects(args.objects, args.width, args.height), args.tiles)
    tiles_total = html.count('"tile:')
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        path = Path(tmp) / "page.html"
        path.write_text(html)
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        started = time.perf_counter()
        page.goto(path.as_uri())
        page.wait_for_selector("[data-role=image-annotation][data-loaded='1']", state="attached")
        load_ms = (time.perf_counter() - started) * 1000  # page, image (or top tile) decoded
        page.keyboard.press("v")  # select tool: drag the box
        page.locator("[data-role=viewport]").evaluate("el => el.scrollIntoView({block: 'start'})")
        scale, tx, ty = (float(v) for v in page.locator("[data-role=image-annotation]").get_attribute("data-view").split(","))
        box = page.locator("[data-role=canvas]").bounding_box()
        if args.gesture == "pan":  # empty space: the view moves, every frame redraws the image
            sx, sy = box["x"] + tx + 200 * scale, box["y"] + ty + 200 * scale
            page.mouse.move(sx, sy)
            for _ in range(6):  # zoom in 2.3x about the empty corner (the wheel zooms about the pointer)
                page.mouse.wheel(0, -120)
                page.wait_for_timeout(50)
            page.wait_for_timeout(1500)  # the tiles of the zoomed view load
        else:
            sx, sy = box["x"] + tx + 550 * scale, box["y"] + ty + 500 * scale
        page.mouse.move(sx, sy)
        page.mouse.down()
        page.evaluate("window.recording = true")
        for k in range(1, args.steps + 1):
            page.mouse.move(sx + k * 2, sy + k)
        page.evaluate("window.recording = false")
        page.mouse.up()
        times = page.evaluate("window.frameTimes")
        moved = page.evaluate("window.TaskTypes.image.collect().objects.at(-1).bbox")
        tiles_loaded = int(page.locator("[data-role=image-annotation]").get_attribute("data-tiles-loaded") or 0)
        browser.close()
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    duration_ms = (times[-1] - times[0]) if len(times) > 1 else 0.0
    fps = (len(times) - 1) / (duration_ms / 1000) if duration_ms else 0.0
    p95 = gaps[int(len(gaps) * 0.95)] if gaps else 0.0
    result = {"objects": args.objects, "image": f"{args.width}x{args.height}", "steps": args.steps,
              "gesture": args.gesture, "tiles": tiles_total, "tiles_loaded": tiles_loaded,
              "load_ms": round(load_ms),
              "frames": len(times), "fps": round(fps, 1), "p95_frame_ms": round(p95, 1),
              "moved_to": [round(v) for v in moved[:2]]}
    print(f"{args.objects} objects on {result['image']}: {result['fps']} fps while {'panning' if args.gesture == 'pan' else 'dragging'} "
          f"(p95 frame {result['p95_frame_ms']} ms, {len(times)} frames)")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["fps"] > 0 else 1)
