"""Video uploads: probe at upload time, then decode once into a seekable frame store.

The frame store is what the annotation page reads: JPEG frames grouped in chunks that start on the
source's keyframes (a chunk closes at the first keyframe after ``chunk_frames`` frames, or at
``2 * chunk_frames`` frames whatever comes), each chunk one storage file (the JPEGs back to back) with
the byte offsets of its frames in the index, so the page fetches one file per chunk and slices it.
Everything goes through ``default_storage`` (local disk or S3). A refused or failed extraction deletes
what it wrote: a video is stored with all its chunks or none.
"""
from __future__ import annotations

import io
import os
import tempfile
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from .decoding import MediaRefused

# PyAV container names -> (extension, content type). Playlists (hls, concat) and raw streams are refused.
VIDEO_CONTAINERS = {
    "mov,mp4,m4a,3gp,3g2,mj2": ("mp4", "video/mp4"),
    "matroska,webm": ("mkv", "video/x-matroska"),
    "avi": ("avi", "video/x-msvideo"),
    "mpegts": ("ts", "video/mp2t"),
}
VIDEO_CODECS = {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mpeg2video", "mjpeg"}
PLAYLIST_MARKERS = (b"#EXTM3U", b"ffconcat", b"#EXT-X-", b"file '", b"file http")


def is_playlist(head: bytes) -> bool:
    return any(m in head[:512].lstrip()[:64] for m in PLAYLIST_MARKERS)


def has_video_signature(head: bytes) -> bool:
    """A container that may hold video, from its first bytes (MP4/MOV, Matroska/WebM, AVI, MPEG-TS)."""
    return (head[4:8] == b"ftyp" or head.startswith(b"\x1a\x45\xdf\xa3")
            or head.startswith(b"RIFF") and head[8:12] == b"AVI "
            or head[:1] == b"\x47" and len(head) > 188 and head[188:189] == b"\x47")


def looks_like_video(data: bytes) -> bool:
    """Whether an upload should go the video way: a playlist (refused there, naming the file), or a video
    container (MP4/MOV, Matroska/WebM, AVI, MPEG-TS) that holds a video stream. Audio-only MP4/WebM (M4A,
    voice notes) stays on the audio path; a damaged container goes the video way and is refused there."""
    if is_playlist(data):
        return True
    if not has_video_signature(data):
        return False
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as probe:
            return bool(probe.streams.video)
    except (av.FFmpegError, ValueError, OSError, EOFError, IndexError, UnicodeDecodeError):
        return True


def max_video_bytes() -> int:
    return int(getattr(settings, "MEDIA_MAX_VIDEO_BYTES", 500 * 1024 * 1024))


def limits() -> dict:
    """Decompression-bomb guards: a small file must not expand into hours of 8K frames."""
    return {"max_side": int(getattr(settings, "MEDIA_MAX_VIDEO_SIDE", 4096)),
            "max_pixels": int(getattr(settings, "MEDIA_MAX_VIDEO_PIXELS", 4096 * 2304)),
            "max_seconds": float(getattr(settings, "MEDIA_MAX_VIDEO_SECONDS", 1800)),
            "max_frames": int(getattr(settings, "MEDIA_MAX_VIDEO_FRAMES", 60 * 1800))}


@dataclass
class VideoInfo:
    width: int
    height: int
    fps: float
    duration_s: float
    frames_estimate: int
    codec: str
    container: str
    extension: str
    content_type: str

    def as_dict(self) -> dict:
        return asdict(self)


def _refuse(field_name: str, name: str, message: str) -> MediaRefused:
    return MediaRefused(field_name, f"{name}: {message}")


def inspect_video(data: bytes, *, name: str = "video", field_name: str = "file") -> VideoInfo:
    """Open the container, check codec, size and duration, decode the first frame; refuse naming ``name``."""
    import av  # here, not at import: PyAV weighs ~30 MB in every web process

    if not data:
        raise _refuse(field_name, name, _("The video is empty (0 bytes)."))
    head = data[:512].lstrip()
    if any(head.startswith(m) or m in head[:64] for m in PLAYLIST_MARKERS):
        raise _refuse(field_name, name, _("Playlists (HLS, concat) are not accepted; upload the video file "
                                          "itself."))
    lim = limits()
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            fmt = container.format.name
            if fmt not in VIDEO_CONTAINERS or not container.streams.video:
                raise _refuse(field_name, name, _("This file is not a supported video (MP4, WebM/MKV, AVI or "
                                                  "MPEG-TS)."))
            stream = container.streams.video[0]
            codec = stream.codec_context.name
            if codec not in VIDEO_CODECS:
                raise _refuse(field_name, name, _("The video codec %(codec)s is not supported (H.264, H.265, "
                                                  "VP8, VP9, AV1, MPEG-4).") % {"codec": codec})
            width, height = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
            if width <= 0 or height <= 0:
                raise _refuse(field_name, name, _("The video has no picture size."))
            if max(width, height) > lim["max_side"] or width * height > lim["max_pixels"]:
                raise _refuse(field_name, name, _("The video is too large (%(w)d×%(h)d; at most %(max)d pixels "
                                                  "a side).") % {"w": width, "h": height, "max": lim["max_side"]})
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            if not 0.5 <= fps <= 240:
                raise _refuse(field_name, name, _("The video's frame rate is unreadable or absurd."))
            duration = (float(stream.duration * stream.time_base) if stream.duration and stream.time_base
                        else (container.duration or 0) / 1_000_000)
            estimate = int(stream.frames or round(duration * fps))
            if duration > lim["max_seconds"] or estimate > lim["max_frames"]:
                raise _refuse(field_name, name, _("The video is too long (at most %(max)d minutes).") % {
                    "max": int(lim["max_seconds"] // 60)})
            first = next(container.decode(stream), None)
            if first is None:
                raise _refuse(field_name, name, _("The video contains no readable frame."))
            if (first.width, first.height) != (width, height):
                width, height = first.width, first.height
    except MediaRefused:
        raise
    except (av.FFmpegError, ValueError, OSError, EOFError, IndexError, UnicodeDecodeError, StopIteration) as exc:
        raise _refuse(field_name, name, _("This file is not a readable video.")) from exc
    ext, content_type = VIDEO_CONTAINERS[fmt]
    return VideoInfo(width=width, height=height, fps=round(fps, 4), duration_s=round(duration, 3),
                     frames_estimate=estimate, codec=codec, container=fmt, extension=ext, content_type=content_type)


def frames_prefix(key: str) -> str:
    """Where a video's frame store lives: beside the original, under ``<key>.frames/``."""
    return f"{key}.frames"


def extract_frames(source, *, prefix: str, name: str = "video", chunk_frames: int = 60, quality: int = 5,
                   threads: int = 1, max_frames: int | None = None) -> dict:
    """Decode every frame of ``source`` (a path or file object) once into JPEG chunks under ``prefix``.

    Returns the index: fps, frame count, size and per chunk its key, first frame and frame offsets. JPEG
    encoding is FFmpeg's MJPEG encoder in the source's range (``quality`` is its qscale, 2 = best), decoding uses ``threads``
    threads (1 for the one-core figure in bench/). On any error every file written is deleted and a
    ``MediaRefused`` naming ``name`` is raised.
    """
    import av

    lim = limits()
    max_frames = max_frames or lim["max_frames"]
    written: list[str] = []
    chunks: list[dict] = []
    buf = bytearray()
    offsets: list[int] = []
    first = 0
    count = 0

    def flush():
        nonlocal buf, offsets, first
        if not offsets:
            return
        key = f"{prefix}/chunk-{len(chunks):05d}.jpgs"
        if default_storage.exists(key):
            default_storage.delete(key)
        saved = default_storage.save(key, ContentFile(bytes(buf)))
        written.append(saved)
        chunks.append({"key": saved, "start": first, "count": len(offsets), "offsets": [*offsets, len(buf)]})
        first += len(offsets)
        buf, offsets = bytearray(), []

    try:
        with av.open(source, mode="r") as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO" if threads > 1 else "SLICE"
            stream.codec_context.thread_count = threads
            width, height = stream.codec_context.width, stream.codec_context.height
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 25.0
            encoder, full_range = None, False
            for frame in container.decode(stream):
                if offsets and frame.key_frame and len(offsets) >= chunk_frames or len(offsets) >= 2 * chunk_frames:
                    flush()
                if (frame.width, frame.height) != (width, height):
                    raise _refuse("file", name, _("The picture size changes inside the video."))
                if encoder is None:  # the first frame says the pixel format (and so the range) to keep
                    full_range = frame.format.name == "yuvj420p"
                    encoder = _jpeg_encoder(width, height, full_range=full_range, quality=quality,
                                            time_base=stream.time_base or av.time_base)
                pix = "yuvj420p" if full_range else "yuv420p"
                out = frame if frame.format.name == pix else frame.reformat(format=pix)
                out.pts = count
                for packet in encoder.encode(out):
                    offsets.append(len(buf))
                    buf += bytes(packet)
                count += 1
                if count > max_frames:
                    raise _refuse("file", name, _("The video is too long (at most %(max)d minutes).") % {
                        "max": int(lim["max_seconds"] // 60)})
            for packet in encoder.encode(None) if encoder is not None else ():
                offsets.append(len(buf))
                buf += bytes(packet)
            flush()
    except MediaRefused:
        _delete(written)
        raise
    except (av.FFmpegError, ValueError, OSError, EOFError, IndexError, UnicodeDecodeError) as exc:
        _delete(written)
        raise _refuse("file", name, _("The video could not be decoded to the end (damaged file?).")) from exc
    except BaseException:
        _delete(written)
        raise
    if count == 0:
        raise _refuse("file", name, _("The video contains no readable frame."))
    index = {"version": 1, "fps": round(fps, 4), "frame_count": count, "width": width, "height": height,
             "range": "full" if full_range else "limited", "chunks": chunks}
    return index


def _jpeg_encoder(width: int, height: int, *, full_range: bool, quality: int, time_base):
    """FFmpeg's MJPEG encoder fed the decoder's own pixel format: most H.264/VP9 is limited-range yuv420p,
    which FFmpeg writes as JPEG only as an "unofficial" extension, but converting every frame to full range
    (yuvj420p) costs a third of the extraction time; the index records ``range`` and the page stretches
    limited-range frames back when it draws them (video.js)."""
    import av

    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = "yuvj420p" if full_range else "yuv420p"
    encoder.time_base = time_base
    encoder.qscale = quality  # FFmpeg's -q:v
    options = {"qmin": str(quality), "qmax": str(quality)}
    if not full_range:
        options["strict"] = "unofficial"
        encoder.color_range = 1  # MPEG (limited)
    encoder.options = options
    encoder.flags |= av.codec.context.Flags.qscale
    encoder.thread_count = 1
    encoder.open()
    return encoder


def _delete(keys: list[str]) -> None:
    for key in keys:
        try:
            default_storage.delete(key)
        except OSError:
            pass


def delete_frames(info: dict) -> None:
    """Remove a video's chunk files (its asset is being deleted or its extraction is redone)."""
    frames = (info or {}).get("frames") or {}
    _delete([c["key"] for c in frames.get("chunks") or []])


def spooled_path(data: bytes):
    """A temporary file holding ``data`` (PyAV seeks in files faster than in BytesIO); the caller removes it."""
    handle, path = tempfile.mkstemp(suffix=".video")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return path
