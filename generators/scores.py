"""Scores for a candidate artwork, each 0..1: image quality and poem-image agreement.

Novelty (how far from the archive) and taste (what the audience liked) need the archive
and the audience, so the service scores those; these two need only the candidate itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image
from skimage.filters import sobel

from generators.image.quality import image_problem

# Mean Sobel gradient of a final's luma that counts as full detail: about the 75th
# percentile of the ink hand's finals (measured over 40 seeds at 256 px: median 0.022).
FULL_DETAIL = 0.026


def quality(image: Image.Image) -> dict[str, float]:
    """Detail (edge energy against FULL_DETAIL) and balance (the ink's centre of weight
    near the sheet's middle third rather than crammed at an edge); 0 for an unusable image."""
    if image_problem(image) is not None:
        return {"detail": 0.0, "balance": 0.0}
    small = image.convert("L").resize((256, 256), Image.Resampling.BILINEAR)
    luma = np.asarray(small, np.float64) / 255.0
    detail = min(1.0, float(sobel(luma).mean()) / FULL_DETAIL)
    ink = 1.0 - luma
    ink = ink - np.median(ink)  # the paper's own tone weighs nothing
    ink = np.clip(ink, 0.0, None)
    total = float(ink.sum())
    if total <= 0.0:
        return {"detail": detail, "balance": 0.0}
    ys, xs = np.mgrid[0:256, 0:256] / 255.0
    cx, cy = float((ink * xs).sum() / total), float((ink * ys).sum() / total)
    off = max(abs(cx - 0.5), abs(cy - 0.5))
    balance = 1.0 if off <= 1 / 6 else max(0.0, 1.0 - (off - 1 / 6) / (1 / 3))
    return {"detail": round(detail, 4), "balance": round(balance, 4)}


def agreement(drawn: Sequence[str], not_drawn: Sequence[str]) -> float | None:
    """The share of what the poem names that the painting shows: the subjects drawn over
    those drawn plus the words the painter could not draw (the ink painter draws every
    subject it knows). None when the painter keeps no record (the diffusion painter)."""
    shown, missing = set(drawn), set(not_drawn)
    if not shown and not missing:
        return None
    return round(len(shown) / len(shown | missing), 4)
