"""Sample artworks and small real images for the storage tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from PIL import Image

from core.artwork import Artwork


def make_artwork(seed: int = 1, **values: Any) -> Artwork:
    """An artwork value as the chain would hand it over; `values` override any field."""
    artwork = Artwork(
        seed=seed,
        poem="a\nb\nc",
        poem_engine="grammar",
        prompt="moon over water",
        image_engine="procedural",
        mood="sadness",
        style_engine="classic",
        caption="a\nb\nc\n\n#haiku",
        alt_text="A painting of the moon.",
        timings={"poem_s": 0.01},
    )
    return replace(artwork, **values)


def image(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
