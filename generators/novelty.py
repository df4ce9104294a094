"""Descriptors for "never repeat": a perceptual hash of the image and the poem's shingles.

Both are small integers, so the archive keeps them in the database and a new artwork is
compared with every past one without reopening a single file: the image by the Hamming
distance of 64-bit DCT hashes, the poem by how many of its word triples and lines a past
poem already had.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
from PIL import Image
from scipy.fft import dctn

_WORD = re.compile(r"[a-z']+")
# Words too common to make two poems alike by sharing them.
_SKIP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "by",
        "to",
        "and",
        "over",
        "from",
        "one",
        "this",
        "that",
    ]
)


def image_hash(image: Image.Image) -> int:
    """The 64-bit perceptual hash (signs of the 8x8 low DCT frequencies of a 32x32 grey copy),
    as a signed 64-bit integer so SQLite stores it as one."""
    grey = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.LANCZOS), np.float64)
    low = dctn(grey, norm="ortho")[:8, :8].ravel()
    bits = (low > np.median(low[1:])).astype(np.uint8)
    unsigned = int.from_bytes(np.packbits(bits).tobytes(), "big")
    return unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned


def _key(text: str) -> int:
    """A stable signed 63-bit key for a shingle or a line (blake2b, never Python's hash)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def poem_keys(text: str) -> tuple[int, ...]:
    """The poem's shingles: each line whole, and each run of three words (common words out)."""
    keys: list[int] = []
    words: list[str] = []
    for line in text.lower().splitlines():
        line_words = [w.strip("'") for w in _WORD.findall(line)]
        if line_words:
            keys.append(_key("line:" + " ".join(line_words)))
        words += [w for w in line_words if w and w not in _SKIP]
    keys += [_key("w3:" + " ".join(words[i : i + 3])) for i in range(len(words) - 2)]
    return tuple(dict.fromkeys(keys))
