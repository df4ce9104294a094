"""LAB colour transfer: statistics, strength, style images and argument checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab

from generators.errors import GenerationError
from generators.mood.colour import (
    lab_statistics_of_image,
    lab_statistics_of_palette,
    transfer_colour,
    transfer_to_mood,
)
from generators.mood.moods import MOODS


def gradient(size: int = 128, *, tint: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> Image.Image:
    """A smooth two-axis colour gradient: every channel varies, nothing is flat."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    rgb = np.stack([0.2 + 0.6 * x, 0.3 + 0.5 * y, 0.8 - 0.5 * x * y], axis=-1) * np.asarray(tint)
    return Image.fromarray(np.clip(rgb * 255, 0, 255).astype(np.uint8), "RGB")


def lab_mean(image: Image.Image) -> np.ndarray:
    return (
        rgb2lab(np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0).reshape(-1, 3).mean(0)
    )


def write_style(path: Path, rgb: tuple[int, int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    y = np.linspace(0.6, 1.0, 64, dtype=np.float32)[:, None, None]
    pixels = np.broadcast_to(np.asarray(rgb, dtype=np.float32) * y, (64, 64, 3))
    Image.fromarray(pixels.astype(np.uint8), "RGB").save(path, quality=95)
    return path


def test_palette_statistics_sit_inside_the_palette() -> None:
    palette = MOODS["trust"].palette_rgb()
    stats = lab_statistics_of_palette(palette)
    swatches = rgb2lab(np.asarray(palette, dtype=np.float64)[None] / 255.0)[0]
    assert stats.mean.shape == (3,) and stats.std.shape == (3,)
    assert np.all(stats.mean >= swatches.min(0)) and np.all(stats.mean <= swatches.max(0))
    assert np.all(stats.std >= 0)
    # A dark-to-light palette must keep a real lightness spread, or results go flat.
    assert stats.std[0] > 15


@pytest.mark.parametrize("palette", [[], [(0, 0, 0)], [(0, 0, 0), (300, 0, 0)], [(1, 2), (3, 4)]])
def test_bad_palette_is_refused(palette: list) -> None:
    with pytest.raises(ValueError, match="palette_rgb"):
        lab_statistics_of_palette(palette)


def test_image_statistics_of_a_flat_colour() -> None:
    image = Image.new("RGB", (600, 400), (200, 60, 30))
    stats = lab_statistics_of_image(image)
    expected = rgb2lab(np.asarray([[[200, 60, 30]]], dtype=np.float64) / 255.0)[0, 0]
    np.testing.assert_allclose(stats.mean, expected, atol=0.05)
    np.testing.assert_allclose(stats.std, 0.0, atol=0.05)


def test_transfer_moves_the_lab_mean_toward_the_target() -> None:
    image = gradient()
    target_mean, target_std = np.array([45.0, 30.0, 20.0]), np.array([15.0, 8.0, 8.0])
    before = np.linalg.norm(lab_mean(image) - target_mean)
    half = np.linalg.norm(
        lab_mean(transfer_colour(image, target_mean, target_std, strength=0.5)) - target_mean
    )
    full = transfer_colour(image, target_mean, target_std, strength=1.0)
    after = np.linalg.norm(lab_mean(full) - target_mean)
    assert after < half < before
    # At full strength the mean lands on the target, up to LUT interpolation and gamut clipping.
    assert after < 3.0
    np.testing.assert_allclose(lab_statistics_of_image(full).std, target_std, rtol=0.25)


def test_strength_zero_leaves_the_image_unchanged() -> None:
    image = gradient()
    out = transfer_colour(image, [45.0, 30.0, 20.0], [15.0, 8.0, 8.0], strength=0.0)
    assert out.tobytes() == image.tobytes()
    assert out is not image


@pytest.mark.parametrize("strength", [-0.1, 1.01, float("nan"), float("inf")])
def test_bad_strength_is_refused_by_name(strength: float) -> None:
    with pytest.raises(ValueError, match="`strength`"):
        transfer_colour(gradient(16), [50.0, 0.0, 0.0], [10.0, 5.0, 5.0], strength=strength)
    with pytest.raises(ValueError, match="`strength`"):
        transfer_to_mood(gradient(16), MOODS["love"], strength=strength)


def test_bad_targets_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="`target_mean`"):
        transfer_colour(gradient(16), [50.0, 0.0], [10.0, 5.0, 5.0])
    with pytest.raises(ValueError, match="`target_std`"):
        transfer_colour(gradient(16), [50.0, 0.0, 0.0], [10.0, -1.0, 5.0])
    with pytest.raises(ValueError, match="`image`"):
        transfer_colour("not an image", [50.0, 0.0, 0.0], [10.0, 5.0, 5.0])  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_size_is_kept_and_the_result_is_rgb(mode: str) -> None:
    image = gradient(100).resize((100, 60)).convert(mode)
    out = transfer_to_mood(image, MOODS["anger"], strength=0.8)
    assert out.size == (100, 60)
    assert out.mode == "RGB"


def test_palette_is_used_without_a_style_image() -> None:
    image = gradient()
    target = lab_statistics_of_palette(MOODS["anger"].palette_rgb()).mean
    out = transfer_to_mood(image, MOODS["anger"], style_image=None, strength=0.8)
    assert np.linalg.norm(lab_mean(out) - target) < np.linalg.norm(lab_mean(image) - target)
    # Anger's reds push a* (green to red) up.
    assert lab_mean(out)[1] > lab_mean(image)[1] + 15


def test_style_image_colours_are_used_and_differ_per_image(tmp_path: Path) -> None:
    image = gradient()
    red = write_style(tmp_path / "red.jpg", (200, 40, 30))
    blue = write_style(tmp_path / "blue.jpg", (30, 60, 200))
    to_red = transfer_to_mood(image, MOODS["neutral"], style_image=red, strength=1.0)
    to_blue = transfer_to_mood(image, MOODS["neutral"], style_image=blue, strength=1.0)
    red_target = lab_statistics_of_image(Image.open(red)).mean
    assert np.linalg.norm(lab_mean(to_red) - red_target) < 5.0
    # Both are chromatic, so a* (green to red) differs less than b* (blue to yellow).
    assert lab_mean(to_red)[1] > lab_mean(to_blue)[1] + 5
    assert lab_mean(to_blue)[2] < lab_mean(to_red)[2] - 40


def test_a_corrupt_style_image_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with pytest.raises(GenerationError, match="broken.jpg"):
        transfer_to_mood(gradient(32), MOODS["love"], style_image=broken, strength=0.8)
    with pytest.raises(GenerationError, match="missing.jpg"):
        transfer_to_mood(gradient(32), MOODS["love"], style_image=tmp_path / "missing.jpg")


def test_transfer_is_deterministic() -> None:
    image = gradient()
    first = transfer_to_mood(image, MOODS["surprise"], strength=0.7)
    second = transfer_to_mood(image, MOODS["surprise"], strength=0.7)
    assert first.tobytes() == second.tobytes()
