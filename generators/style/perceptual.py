"""Perceptual fingerprints of images: a difference hash for near duplicates, and a descriptor
(small LAB thumbnail plus that hash) whose distance says how alike two pictures look.

Deterministic and offline (numpy, Pillow, scikit-image's colour conversion): the same image
gives the same numbers on every machine, so novelty reports can be compared over time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL.Image import Image

HASH_SIDE = 8
HASH_BITS = HASH_SIDE * HASH_SIDE
THUMB_SIDE = 16
# How far apart two images must be, in hash bits out of 64, to count as different pictures.
# 6 catches re-encodes, small crops and resizes of the same picture without merging siblings.
DUPLICATE_BITS = 6
# Weight of the hash part in the descriptor distance; the thumbnail part carries colour/layout.
_HASH_WEIGHT = 0.5


def dhash(image: Image) -> np.ndarray:
    """The 64-bit difference hash of `image` as 64 booleans (brightness gradients, row by row)."""
    from PIL import Image as PILImage

    grey = image.convert("L").resize((HASH_SIDE + 1, HASH_SIDE), PILImage.Resampling.BILINEAR)
    pixels = np.asarray(grey, dtype=np.int16)
    return (pixels[:, 1:] > pixels[:, :-1]).reshape(-1)


def hamming(a: np.ndarray, b: np.ndarray) -> int:
    """How many bits two hashes differ in."""
    return int(np.count_nonzero(a != b))


@dataclass(frozen=True)
class Descriptor:
    """A small LAB thumbnail (scaled to about unit range) and the difference hash of an image."""

    lab: np.ndarray
    bits: np.ndarray


def describe(image: Image) -> Descriptor:
    """The descriptor of `image`: its 16x16 LAB thumbnail and its difference hash."""
    from PIL import Image as PILImage
    from skimage.color import rgb2lab

    thumb = image.convert("RGB").resize((THUMB_SIDE, THUMB_SIDE), PILImage.Resampling.BOX)
    lab = rgb2lab(np.asarray(thumb, dtype=np.float64) / 255.0)
    # L spans 0..100 and a/b about -100..100: scale each to about unit range.
    lab = lab / np.array([100.0, 128.0, 128.0])
    return Descriptor(lab=lab.astype(np.float32).reshape(-1), bits=dhash(image))


def stack(descriptors: list[Descriptor]) -> tuple[np.ndarray, np.ndarray]:
    """Descriptors as two arrays (thumbnails N x D, hashes N x 64) for batched distances."""
    if not descriptors:
        return np.zeros((0, THUMB_SIDE * THUMB_SIDE * 3), np.float32), np.zeros(
            (0, HASH_BITS), bool
        )
    return np.stack([d.lab for d in descriptors]), np.stack([d.bits for d in descriptors])


def distances(query: Descriptor, labs: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Distance from `query` to each of N described images: 0 is the same picture.

    The root-mean-square LAB difference of the thumbnails (colour and layout) plus half the
    fraction of differing hash bits (structure), so both a recoloured copy and a re-drawn
    copy of a training image come out close.
    """
    if len(labs) == 0:
        return np.zeros(0, np.float64)
    lab_part = np.sqrt(np.mean((labs.astype(np.float64) - query.lab) ** 2, axis=1))
    hash_part = np.count_nonzero(bits != query.bits, axis=1) / HASH_BITS
    return np.asarray(lab_part + _HASH_WEIGHT * hash_part, dtype=np.float64)
