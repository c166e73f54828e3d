"""Synthetic clips the project makes itself (demo campaign, bench, tests): coloured rectangles moving on a
gradient, H.264 in MP4 encoded with PyAV. The true boxes of every frame come back with the file, so the
demo's gold tracks and the tests' expectations are exact."""
from __future__ import annotations

import numpy as np

# (colour RGB, size w/h as a share of the frame, start x/y share, velocity in shares per second)
MOVERS = [((230, 60, 60), (0.14, 0.20), (0.05, 0.20), (0.16, 0.03)),
          ((60, 120, 230), (0.10, 0.28), (0.70, 0.55), (-0.12, -0.05))]


def mover_boxes(frame: int, fps: float, width: int, height: int) -> list[list[float]]:
    """Each mover's [x, y, w, h] in pixels at ``frame`` (kept inside the picture)."""
    t = frame / fps
    out = []
    for _colour, (sw, sh), (sx, sy), (vx, vy) in MOVERS:
        w, h = round(sw * width), round(sh * height)
        x = min(max(0, round((sx + vx * t) * width)), width - w)
        y = min(max(0, round((sy + vy * t) * height)), height - h)
        out.append([float(x), float(y), float(w), float(h)])
    return out


def write_clip(path, *, width: int = 640, height: int = 360, seconds: float = 4.0, fps: int = 25,
               gop: int = 50, crf: int = 28) -> dict:
    """Encode the moving-rectangles clip to ``path`` (MP4/H.264, even width and height); returns {fps,
    frame_count, tracks}."""
    import av

    n = int(round(seconds * fps))
    # Frames are built in YUV 4:2:0 directly (no RGB conversion per frame): the bench makes 18,000 of them.
    ys, xs = np.mgrid[0:height, 0:width]
    luma = (xs * 120 // max(1, width - 1) + ys * 60 // max(1, height - 1) + 40).astype(np.uint8)
    ch, cw = (height + 1) // 2, (width + 1) // 2
    chroma_u = np.full((ch, cw), 110, dtype=np.uint8)
    chroma_v = (np.mgrid[0:ch, 0:cw][1] * 80 // max(1, cw - 1) + 90).astype(np.uint8)
    tracks: list[list[list[float]]] = [[] for _ in MOVERS]
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf), "g": str(gop), "preset": "ultrafast", "tune": "zerolatency"}
        for i in range(n):
            y_plane, u_plane, v_plane = luma.copy(), chroma_u.copy(), chroma_v.copy()
            boxes = mover_boxes(i, fps, width, height)
            for (colour, *_rest), (x, y, w, h), track in zip(MOVERS, boxes, tracks, strict=True):
                yy, uu, vv = _yuv(colour)
                x0, y0, x1, y1 = int(x), int(y), int(x + w), int(y + h)
                y_plane[y0:y1, x0:x1] = yy
                u_plane[y0 // 2:y1 // 2, x0 // 2:x1 // 2] = uu
                v_plane[y0 // 2:y1 // 2, x0 // 2:x1 // 2] = vv
                track.append([x, y, w, h])
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane, data in zip(frame.planes, (y_plane, u_plane, v_plane), strict=True):
                _fill(plane, data)
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return {"fps": fps, "frame_count": n, "width": width, "height": height, "tracks": tracks}


def _fill(plane, data: np.ndarray) -> None:
    """Copy one plane into a frame whose rows may be padded (``line_size`` >= width)."""
    pad = plane.line_size - data.shape[1]
    plane.update(np.ascontiguousarray(np.pad(data, ((0, 0), (0, pad))) if pad else data).tobytes())


def _yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """BT.601 limited-range YUV of an RGB colour (what x264 is fed)."""
    r, g, b = rgb
    y = 16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256
    u = 128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256
    v = 128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256
    return round(y), round(u), round(v)
