"""Frame extraction benchmark: decode a 1080p H.264 clip once into the JPEG frame store (assets.video).

    .venv/bin/python bench/video_extract.py            # 10 minutes of 1080p at 30 fps (~18,000 frames)
    .venv/bin/python bench/video_extract.py --smoke    # 3 seconds (the test suite runs this)

The clip is made here with PyAV (moving rectangles on a gradient, x264 ultrafast, GOP 60); its encoding is
not timed. Timed: ``extract_frames`` on one thread (decode, MJPEG encode at qscale 5, chunk files written
to a temporary MEDIA_ROOT). Real-time factor = clip duration / extraction time; the target is >= 5 on one
core. The last line is the result as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="3 seconds, for the test suite")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.smoke:
        args.seconds = 3.0
    width, height = (int(v) for v in args.size.split("x"))
    work = Path(tempfile.mkdtemp(prefix="video-bench-"))
    os.environ["MEDIA_ROOT"] = str(work / "media")
    import django

    django.setup()
    from assets.video import extract_frames
    from task_types.video.clips import write_clip

    clip = work / "clip.mp4"
    start = time.perf_counter()
    write_clip(clip, width=width, height=height, seconds=args.seconds, fps=args.fps, gop=60)
    encode_s = time.perf_counter() - start
    cpu0, start = time.process_time(), time.perf_counter()
    index = extract_frames(str(clip), prefix="bench/clip.mp4.frames", threads=args.threads)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    frames = index["frame_count"]
    store = sum(c["offsets"][-1] for c in index["chunks"])
    result = {"size": args.size, "seconds": args.seconds, "fps": args.fps, "threads": args.threads, "frames": frames,
              "chunks": len(index["chunks"]), "source_mb": round(clip.stat().st_size / 1e6, 2),
              "store_mb": round(store / 1e6, 1), "extract_s": round(wall, 2), "cpu_s": round(cpu, 2),
              "frames_per_second": round(frames / wall, 1), "realtime_factor": round(args.seconds / wall, 2),
              # CPU time is what a busy shared machine does not inflate: the one-core figure.
              "frames_per_cpu_second": round(frames / cpu, 1), "cpu_realtime_factor": round(args.seconds / cpu, 2),
              "clip_encode_s": round(encode_s, 1)}
    print(f"{frames} frames of {args.size} ({args.seconds:g} s at {args.fps} fps) in {wall:.2f} s "
          f"({cpu:.2f} s CPU): {frames / wall:.1f} frames/s, {args.seconds / wall:.2f}x real time "
          f"({args.seconds / cpu:.2f}x per CPU second); "
          f"{len(index['chunks'])} chunks, {store / 1e6:.1f} MB of JPEG")
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
