"""Real encoded media generated in the tests (no downloads): speech-like audio, silence, clipping, images."""
from __future__ import annotations

import io

import av
import numpy as np
import soundfile
from PIL import Image, ImageDraw


def voice(seconds: float, sample_rate: int = 48000, *, level: float = 0.4, seed: int = 0) -> np.ndarray:
    """Syllable-like bursts (a buzzy pitch with a smooth envelope) separated by short pauses."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * sample_rate), dtype=np.float32)
    pos = int(0.15 * sample_rate)
    while pos < out.size - int(0.2 * sample_rate):
        n = int(rng.uniform(0.15, 0.25) * sample_rate)
        t = np.arange(n) / sample_rate
        f0 = rng.uniform(110, 220)
        burst = np.sin(2 * np.pi * f0 * t) + 0.5 * np.sin(2 * np.pi * 2 * f0 * t) + 0.25 * np.sin(2 * np.pi * 3 * f0 * t)
        burst *= np.sin(np.linspace(0, np.pi, n))
        end = min(pos + n, out.size)
        out[pos:end] = (burst[: end - pos] / 1.75 * level).astype(np.float32)
        pos = end + int(rng.uniform(0.05, 0.12) * sample_rate)
    return out


def webm_opus(samples: np.ndarray, sample_rate: int = 48000) -> bytes:
    """Encode like Chromium's MediaRecorder does: Opus in WebM."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="webm") as container:
        stream = container.add_stream("libopus", rate=sample_rate)
        stream.layout = "mono"
        for i in range(0, samples.size, 960):
            frame = av.AudioFrame.from_ndarray(samples[None, i : i + 960].astype(np.float32), format="flt", layout="mono")
            frame.sample_rate = sample_rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def wav(samples: np.ndarray, sample_rate: int) -> bytes:
    buf = io.BytesIO()
    soundfile.write(buf, samples, sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def ogg(samples: np.ndarray, sample_rate: int) -> bytes:
    buf = io.BytesIO()
    soundfile.write(buf, samples, sample_rate, format="OGG", subtype="VORBIS")
    return buf.getvalue()


def png(width: int = 640, height: int = 400, text: str = "Xin chào") -> bytes:
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).text((20, 20), text, fill="black")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def encoded(samples: np.ndarray, sample_rate: int, fmt: str, codec: str, **options: str) -> bytes:
    """Encode like other browsers do: Firefox Ogg/Opus (``ogg``, ``libopus``), Safari MP4/AAC (``mp4``, ``aac``)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt, options=options) as container:
        stream = container.add_stream(codec, rate=sample_rate)
        stream.layout = "mono"
        for i in range(0, samples.size, 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, i : i + 1024].astype(np.float32), format="flt", layout="mono")
            frame.sample_rate = sample_rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()
