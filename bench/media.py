"""Media validation benchmark: what decoding-based upload checks cost per file, in time and memory.

    .venv/bin/python bench/media.py            # 20 recordings of 5 s, a 30 s take, a 10 min refusal, 12 MP photos
    .venv/bin/python bench/media.py --smoke    # tiny sizes (the test suite runs this)

Every number is for the work the upload endpoint does before anything is stored: decoding the whole
WebM/Opus recording with PyAV and computing the level/silence/clipping figures, decoding a whole
JPEG with Pillow, and signing / checking media URLs. Memory is the tracemalloc peak (Python and
numpy buffers; FFmpeg's own buffers are outside it). The last line is the result as JSON.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def timed(fn, repeat: int) -> tuple[float, float]:
    """Median and max wall time of ``fn`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
    except Exception:  # noqa: BLE001 - refusals are part of what is measured
        pass
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--clip-seconds", type=float, default=5.0)
    parser.add_argument("--long-seconds", type=float, default=600.0, help="the over-long upload to refuse")
    parser.add_argument("--photo", default="4000x3000")
    args = parser.parse_args()
    if args.smoke:
        args.clips, args.clip_seconds, args.long_seconds, args.photo = 2, 2.0, 40.0, "800x600"

    import django

    django.setup()
    import numpy as np
    from PIL import Image

    from assets.decoding import MediaRefused, inspect_audio, inspect_image
    from assets.selectors import key_for_token, signed_media_url
    from tasks.types import get_task_type
    from tests.media_samples import voice, webm_opus

    recording = get_task_type("speech_recording")
    config = recording.validate_config({})
    sentence = {"sentence": " ".join(["chữ"] * max(3, int(args.clip_seconds * 3)))}
    out: dict = {"smoke": args.smoke}

    # 1. A contributor's take: decode + checks, per clip.
    clips = [webm_opus(voice(args.clip_seconds, seed=i)) for i in range(args.clips)]
    index = iter(range(10**9))

    def check_one():
        data = clips[next(index) % len(clips)]
        recording.check_recording(inspect_audio(data, max_seconds=30), item_payload=sentence, config=config)

    median, worst = timed(check_one, len(clips))
    out["recording"] = {"seconds": args.clip_seconds, "bytes": len(clips[0]), "median_ms": round(median, 1),
                        "max_ms": round(worst, 1), "realtime_factor": round(args.clip_seconds * 1000 / median, 1)}
    take = webm_opus(voice(30.0 if not args.smoke else 3.0, seed=99))
    out["recording"]["peak_mb_30s"] = round(peak_mb(lambda: inspect_audio(take, max_seconds=30)), 1)

    # 2. An over-long upload is refused as soon as decoding passes the limit, not after decoding it all.
    long = webm_opus(voice(args.long_seconds, seed=7))
    limit = 30.0

    def refuse_long():
        try:
            inspect_audio(long, max_seconds=limit, max_bytes=64 * 1024 * 1024)
        except MediaRefused:
            return
        raise AssertionError("an over-long recording was accepted")

    median, _worst = timed(refuse_long, 3)
    out["overlong"] = {"seconds": args.long_seconds, "bytes": len(long), "refuse_ms": round(median, 1),
                       "peak_mb": round(peak_mb(refuse_long), 1)}

    # 3. A phone photo of a document, fully decoded.
    width, height = (int(v) for v in args.photo.split("x"))
    rng = np.random.default_rng(0)
    pixels = (rng.random((height // 8, width // 8, 3)) * 255).astype(np.uint8)
    photo = Image.fromarray(pixels).resize((width, height))
    buf = io.BytesIO()
    photo.save(buf, format="JPEG", quality=85)
    jpeg = buf.getvalue()
    median, worst = timed(lambda: inspect_image(jpeg), 5)
    out["image"] = {"pixels": f"{width}x{height}", "bytes": len(jpeg), "median_ms": round(median, 1),
                    "peak_mb": round(peak_mb(lambda: inspect_image(jpeg)), 1)}

    # 4. Signed URLs: made per media per page load, checked per request.
    n = 200 if args.smoke else 5000
    signed_media_url("warm/up.webm", user_id=42)  # the first reverse() loads the URLconf
    start = time.perf_counter()
    urls = [signed_media_url(f"recordings/1/abc/{i}.webm", user_id=42) for i in range(n)]
    sign_s = time.perf_counter() - start
    start = time.perf_counter()
    ok = sum(key_for_token(u.split("/")[-2], user_id=42) is not None for u in urls)
    check_s = time.perf_counter() - start
    assert ok == n
    out["signed_urls"] = {"sign_per_s": round(n / sign_s), "check_per_s": round(n / check_s)}

    print(f"recording {args.clip_seconds:.0f} s WebM/Opus ({out['recording']['bytes']} B): "
          f"median {out['recording']['median_ms']} ms, max {out['recording']['max_ms']} ms, "
          f"{out['recording']['realtime_factor']}x real time; peak {out['recording']['peak_mb_30s']} MB for a 30 s take")
    print(f"over-long {args.long_seconds:.0f} s upload ({out['overlong']['bytes']} B) refused in "
          f"{out['overlong']['refuse_ms']} ms, peak {out['overlong']['peak_mb']} MB")
    print(f"image {out['image']['pixels']} JPEG ({out['image']['bytes']} B): median {out['image']['median_ms']} ms, "
          f"peak {out['image']['peak_mb']} MB")
    print(f"signed URLs: {out['signed_urls']['sign_per_s']}/s signed, {out['signed_urls']['check_per_s']}/s checked")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
