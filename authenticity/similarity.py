"""Near-duplicate fingerprints: MinHash signatures (datasketch) with LSH band keys stored in the database.

Each text gets a 64-permutation MinHash of its syllable 3-gram shingles (accent-stripped, so a copy with its
diacritics removed still matches). The signature is cut into 16 bands of 4 rows; each band hashes to one
signed 64-bit key stored in ``MinHashBand`` with an index on (campaign, key). Finding candidates is one
indexed ``key IN (...)`` query whatever the campaign's size; the candidates' Jaccard similarity is then
estimated from their stored signatures. 16 x 4 bands find pairs above ~0.5 Jaccard with high probability
(P(candidate | J=0.7) = 1 - (1 - 0.7**4)**16 = 0.99).

Why MinHash and no embedding model: the available packaged model (all-MiniLM-L6-v2) is trained on English
and needs PyTorch; the signal that matters here is copying (from a chatbot or another contributor), which
shingle overlap measures directly, in any language, in microseconds.
"""
from __future__ import annotations

import hashlib
import struct

import numpy as np

from .text import shingles

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SEED = 20241
MIN_SHINGLES = 6  # shorter texts ("Có", "Đồng ý") collide by nature and are not compared


def signature(text: str) -> np.ndarray | None:
    """The MinHash signature of a text, or None when the text is too short to compare."""
    grams = shingles(text)
    if len(grams) < MIN_SHINGLES:
        return None
    from datasketch import MinHash  # on first use: datasketch pulls in scipy (+36 MB in every web process)

    mh = MinHash(num_perm=NUM_PERM, seed=SEED)
    mh.update_batch([g.encode("utf-8") for g in grams])
    return mh.hashvalues.astype(np.uint64)


def to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u8").tobytes()


def from_bytes(data: bytes | memoryview | None) -> np.ndarray | None:
    if not data:
        return None
    return np.frombuffer(bytes(data), dtype="<u8")


def band_keys(sig: np.ndarray) -> list[int]:
    """One signed 64-bit key per band (fits a PostgreSQL bigint)."""
    keys = []
    for band in range(BANDS):
        chunk = sig[band * ROWS : (band + 1) * ROWS].astype("<u8").tobytes()
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(struct.unpack("<q", digest)[0])
    return keys


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a == b))
