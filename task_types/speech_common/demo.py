"""A synthetic Vietnamese-like voice for the speech demos (no model, no download)."""
from __future__ import annotations

import io

from assets.decoding import inspect_audio
from assets.models import MediaAsset
from assets.services import store_demo_media


def synthesize_speech(syllables: int, *, seed: int, sample_rate: int = 16000):
    """A voice-like signal without any model: one voiced burst per syllable (pulse train through vowel
    formants, with a rising/falling pitch like Vietnamese tones) and short pauses."""
    import numpy as np  # deferred: numpy and scipy run only when demo audio is made
    from scipy.signal import lfilter  # heavy library: loaded on first use, not in every web process

    rng = np.random.default_rng(seed)
    formants = [(730, 1090), (270, 2290), (300, 870), (530, 1840), (570, 840), (440, 1020)]
    pieces = [np.zeros(int(0.25 * sample_rate))]
    for _syllable in range(syllables):
        n = int(rng.uniform(0.16, 0.28) * sample_rate)
        f0 = rng.uniform(110, 200) * np.exp(np.linspace(0, rng.uniform(-0.25, 0.25), n))
        phase = np.cumsum(2 * np.pi * f0 / sample_rate)
        source = np.sign(np.sin(phase)) * 0.5 + rng.normal(0, 0.05, n)
        voiced = source
        for freq in formants[rng.integers(len(formants))]:
            r = np.exp(-np.pi * 90 / sample_rate)
            theta = 2 * np.pi * freq / sample_rate
            voiced = lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], voiced)
        envelope = np.sin(np.linspace(0, np.pi, n)) ** 0.7
        syllable = voiced * envelope
        pieces.append(syllable / (np.abs(syllable).max() + 1e-9) * 0.5)
        pieces.append(np.zeros(int(rng.uniform(0.04, 0.12) * sample_rate)))
    pieces.append(np.zeros(int(0.25 * sample_rate)))
    signal = np.concatenate(pieces)
    signal += rng.normal(0, 0.002, signal.size)  # room noise
    return signal.astype(np.float32), sample_rate


def encode_audio(samples, sample_rate: int, fmt: str = "OGG") -> bytes:
    """Encode float samples with soundfile (OGG/Vorbis by default, or WAV/FLAC)."""
    import soundfile  # deferred: only the demo encodes audio

    out = io.BytesIO()
    soundfile.write(out, samples, sample_rate, format=fmt, subtype="VORBIS" if fmt == "OGG" else None)
    return out.getvalue()


def store_demo_audio(key: str, syllables: int, *, seed: int) -> str:
    """Synthesize one demo clip and store it under ``key`` (kept if already stored: it is deterministic)."""
    def build():
        samples, rate = synthesize_speech(syllables, seed=seed)
        data = encode_audio(samples, rate)
        info = inspect_audio(data, max_seconds=120)
        return data, info.content_type, info.as_dict()

    store_demo_media(key, kind=MediaAsset.Kind.AUDIO, build=build)
    return key
