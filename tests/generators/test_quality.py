"""Image quality checks: black, blank and broken images are caught, real ones pass."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generators.errors import GenerationError
from generators.image.quality import ensure_usable, image_problem


def _noisy(seed: int = 0) -> Image.Image:
    data = np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    return Image.fromarray(data)


def test_a_varied_image_has_no_problem() -> None:
    assert image_problem(_noisy()) is None
    ensure_usable(_noisy(), what="test")


def test_black_image_is_reported() -> None:
    problem = image_problem(Image.new("RGB", (64, 64)))
    assert problem is not None and "black" in problem


def test_near_black_noise_is_still_black() -> None:
    # NaN latents decoded and cast to uint8 land on 0 with a few stray low values.
    data = np.random.default_rng(1).integers(0, 6, (64, 64, 3), dtype=np.uint8)
    problem = image_problem(Image.fromarray(data))
    assert problem is not None and "black" in problem


def test_uniform_image_is_blank() -> None:
    problem = image_problem(Image.new("RGB", (64, 64), (120, 130, 140)))
    assert problem is not None and "blank" in problem


def test_wrong_mode_and_zero_size_are_reported() -> None:
    assert "mode" in (image_problem(Image.new("F", (8, 8))) or "")
    assert "zero size" in (image_problem(Image.new("RGB", (0, 0))) or "")


def test_ensure_usable_raises_generation_error_naming_the_stage() -> None:
    with pytest.raises(GenerationError, match="the painter produced an unusable image: .*black"):
        ensure_usable(Image.new("RGB", (32, 32)), what="the painter")
