"""Validate uploads by decoding their content (never by name or declared type).

Images are decoded with Pillow, audio with PyAV (FFmpeg libraries shipped in its wheel), so a text
file renamed ``.webm`` or a truncated PNG is refused however it is named. Every refusal is a
``MediaRefused`` naming the form field and saying what is wrong in words a contributor understands.
"""
from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
from django.utils.translation import gettext as _

from core.schema import SchemaError

# Storage keys: relative, forward slashes, a conservative alphabet, no "." or ".." segments.
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")
IMAGE_FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "WEBP": ("webp", "image/webp"),
                 "TIFF": ("tiff", "image/tiff"), "BMP": ("bmp", "image/bmp"), "GIF": ("gif", "image/gif")}
# PyAV container names -> (extension, content type). Anything else is refused.
AUDIO_CONTAINERS = {
    "matroska,webm": ("webm", "audio/webm"),
    "ogg": ("ogg", "audio/ogg"),
    "wav": ("wav", "audio/wav"),
    "flac": ("flac", "audio/flac"),
    "mp3": ("mp3", "audio/mpeg"),
    "mov,mp4,m4a,3gp,3g2,mj2": ("m4a", "audio/mp4"),
}
MAX_IMAGE_PIXELS = 60_000_000


class MediaRefused(SchemaError):
    """An upload that fails validation; nothing has been stored when this is raised."""


def check_key(key: object, field_name: str = "key") -> str:
    """A storage key that cannot escape the media root (no '..', no absolute path, no backslash)."""
    if not isinstance(key, str) or not key or len(key) > 250 or not KEY_RE.match(key) or ".." in key.split("/"):
        raise MediaRefused(field_name, _("Invalid media key: use letters, digits, '-', '_', '.' and '/' only, "
                                         "without '..' or a leading '/'."))
    return key


def check_file_name(name: object, field_name: str = "name") -> str:
    """A client-supplied file name used inside a key: one path segment, no traversal."""
    if not isinstance(name, str) or not name or len(name) > 120 or "/" in name or "\\" in name \
            or name in {".", ".."} or not KEY_RE.match(name):
        raise MediaRefused(field_name, _("Invalid file name %(name)r: use one name made of letters, digits, "
                                         "'-', '_' and '.', without '/' or '..'.") % {"name": str(name)[:80]})
    return name


@dataclass
class ImageInfo:
    width: int
    height: int
    format: str
    extension: str
    content_type: str


def inspect_image(data: bytes, *, field_name: str = "file", max_bytes: int = 20 * 1024 * 1024) -> ImageInfo:
    """Decode the whole image (not just its header) so truncated or corrupt files are refused."""
    from PIL import Image, UnidentifiedImageError  # here, not at import: web processes rarely decode media

    if not data:
        raise MediaRefused(field_name, _("The file is empty."))
    if len(data) > max_bytes:
        raise MediaRefused(field_name, _("The image is too large (%(size)d MB; at most %(max)d MB).") % {
            "size": len(data) // (1024 * 1024), "max": max_bytes // (1024 * 1024)})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or ""
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise MediaRefused(field_name, _("The image has too many pixels (%(w)d×%(h)d).") % {
                        "w": width, "h": height})
                image.load()  # full decode: a truncated file fails here
    except MediaRefused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, EOFError) as exc:
        raise MediaRefused(field_name, _("This file is not a readable image (%(why)s).") % {
            "why": str(exc)[:120] or type(exc).__name__}) from exc
    if fmt not in IMAGE_FORMATS:
        raise MediaRefused(field_name, _("Unsupported image format %(fmt)s; use PNG, JPEG, WebP or TIFF.") % {
            "fmt": fmt or "?"})
    ext, content_type = IMAGE_FORMATS[fmt]
    return ImageInfo(width=width, height=height, format=fmt, extension=ext, content_type=content_type)


@dataclass
class AudioInfo:
    duration_s: float
    sample_rate: int
    channels: int
    codec: str
    container: str
    extension: str
    content_type: str
    peak_dbfs: float
    rms_dbfs: float
    active_ratio: float  # share of 25 ms frames louder than -40 dBFS
    clipped_ratio: float  # share of samples at or above 0.99 full scale
    samples: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=np.float32))

    def as_dict(self) -> dict:
        return {
            "duration_s": round(self.duration_s, 3), "sample_rate": self.sample_rate, "channels": self.channels,
            "codec": self.codec, "container": self.container, "peak_dbfs": round(self.peak_dbfs, 1),
            "rms_dbfs": round(self.rms_dbfs, 1), "active_ratio": round(self.active_ratio, 3),
            "clipped_ratio": round(self.clipped_ratio, 5),
        }


def _dbfs(value: float) -> float:
    return float(20 * np.log10(max(value, 1e-6)))


def inspect_audio(data: bytes, *, field_name: str = "audio", max_bytes: int = 8 * 1024 * 1024,
                  max_seconds: float = 60.0) -> AudioInfo:
    """Decode every frame to mono float samples; refuse non-audio, empty or over-long recordings.

    Decoding stops as soon as the audio passes ``max_seconds``, so a huge file cannot eat memory.
    """
    import av  # here, not at import: PyAV and its FFmpeg libraries weigh ~30 MB in every web process

    if not data:
        raise MediaRefused(field_name, _("The recording is empty (0 bytes)."))
    if len(data) > max_bytes:
        raise MediaRefused(field_name, _("The recording is too large (at most %(max)d MB).") % {
            "max": max_bytes // (1024 * 1024)})
    chunks: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            container_name = container.format.name
            if container_name not in AUDIO_CONTAINERS or not container.streams.audio:
                raise MediaRefused(field_name, _("This file is not a supported audio recording "
                                                 "(WebM/Opus, Ogg, WAV, FLAC, MP3 or M4A)."))
            if container.streams.video:
                raise MediaRefused(field_name, _("The file contains video; upload audio only."))
            stream = container.streams.audio[0]
            codec = stream.codec_context.name
            sample_rate = int(stream.codec_context.sample_rate or stream.rate or 0)
            channels = int(stream.codec_context.channels or 1)
            if sample_rate <= 0:
                raise MediaRefused(field_name, _("The recording has no sample rate."))
            resampler = av.AudioResampler(format="fltp", layout="mono", rate=sample_rate)
            limit = int((max_seconds + 0.5) * sample_rate)
            total = 0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray()[0]
                    chunks.append(chunk)
                    total += chunk.shape[0]
                if total > limit:
                    raise MediaRefused(field_name, _("The recording is too long (more than %(max)d s).") % {
                        "max": int(max_seconds)})
    except MediaRefused:
        raise
    except (av.FFmpegError, ValueError, OSError, EOFError, IndexError, UnicodeDecodeError) as exc:
        raise MediaRefused(field_name, _("This file is not a readable audio recording.")) from exc
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)
    if samples.size < sample_rate * 0.05:
        raise MediaRefused(field_name, _("The recording contains no audio."))
    ext, content_type = AUDIO_CONTAINERS[container_name]
    del chunks  # the concatenated copy is all we keep
    # Level figures in float32 temporaries (accumulated in float64): memory stays ~2x the samples.
    peak = float(max(samples.max(), -samples.min()))
    clipped = np.count_nonzero(samples >= 0.99) + np.count_nonzero(samples <= -0.99)
    window = max(1, int(sample_rate * 0.025))
    frames = samples[: samples.size // window * window].reshape(-1, window) if samples.size >= window else samples[None]
    frame_db = 10 * np.log10(np.mean(np.square(frames), axis=1, dtype=np.float64) + 1e-12)
    return AudioInfo(
        duration_s=samples.size / sample_rate,
        sample_rate=sample_rate,
        channels=channels,
        codec=codec,
        container=container_name,
        extension=ext,
        content_type=content_type,
        peak_dbfs=_dbfs(peak),
        rms_dbfs=_dbfs(float(np.sqrt(np.mean(np.square(samples), dtype=np.float64)))),
        active_ratio=float(np.mean(frame_db > -40.0)),
        clipped_ratio=clipped / samples.size,
        samples=samples,
    )
