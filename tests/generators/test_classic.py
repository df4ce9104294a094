"""The classic stylist: mood colours, style images, determinism and never a blank result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab

from generators.errors import GenerationError
from generators.mood.base import Stylist, Stylization
from generators.mood.classic import ClassicStylist
from generators.mood.moods import MOOD_NAMES, MOODS, pick_style_image


def gradient(width: int = 160, height: int = 128) -> Image.Image:
    """A landscape-like gradient with a hard horizon, so brush and edges have work to do."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    y /= height - 1
    x /= width - 1
    sky = np.stack([0.3 + 0.5 * y, 0.5 + 0.3 * y, 0.9 - 0.3 * y], axis=-1)
    ground = np.stack([0.2 + 0.2 * x, 0.45 - 0.2 * y, 0.2 + 0.1 * x], axis=-1)
    rgb = np.where((y > 0.6 + 0.1 * np.sin(x * 9))[..., None], ground, sky)
    return Image.fromarray((rgb * 255).astype(np.uint8), "RGB")


def lab_mean(image: Image.Image) -> np.ndarray:
    return rgb2lab(np.asarray(image, dtype=np.float64) / 255.0).reshape(-1, 3).mean(0)


def write_style(path: Path, rgb: tuple[int, int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shade = np.linspace(0.5, 1.0, 48, dtype=np.float32)[None, :, None]
    pixels = np.broadcast_to(np.asarray(rgb, dtype=np.float32) * shade, (48, 48, 3))
    Image.fromarray(pixels.astype(np.uint8), "RGB").save(path, quality=95)
    return path


def test_is_a_stylist_named_classic() -> None:
    stylist = ClassicStylist()
    assert isinstance(stylist, Stylist)
    assert stylist.name == "classic"


def test_result_records_mood_and_engine_and_keeps_size() -> None:
    image = gradient()
    result = ClassicStylist().stylize(image, MOODS["love"], seed=3)
    assert isinstance(result, Stylization)
    assert (result.mood, result.engine, result.model, result.style_reference) == (
        "love",
        "classic",
        None,
        None,
    )
    assert result.image.size == image.size
    assert result.image.mode == "RGB"


def test_input_image_is_not_modified() -> None:
    image = gradient()
    before = image.tobytes()
    ClassicStylist().stylize(image, MOODS["anger"], seed=1)
    assert image.tobytes() == before


def test_same_inputs_give_the_same_bytes_and_seeds_differ() -> None:
    image = gradient()
    stylist = ClassicStylist()
    first = stylist.stylize(image, MOODS["sadness"], seed=42).image.tobytes()
    assert stylist.stylize(image, MOODS["sadness"], seed=42).image.tobytes() == first
    assert ClassicStylist().stylize(image, MOODS["sadness"], seed=42).image.tobytes() == first
    assert stylist.stylize(image, MOODS["sadness"], seed=43).image.tobytes() != first


def test_moves_colours_toward_the_mood() -> None:
    image = gradient()
    angry = ClassicStylist().stylize(image, MOODS["anger"], seed=0).image
    trusting = ClassicStylist().stylize(image, MOODS["trust"], seed=0).image
    # a* runs green to red, b* blue to yellow.
    assert lab_mean(angry)[1] > lab_mean(image)[1] + 15
    assert lab_mean(trusting)[2] < lab_mean(angry)[2] - 20


def test_style_image_is_used_and_recorded(tmp_path: Path) -> None:
    image = gradient()
    red_dir, blue_dir = tmp_path / "red-styles", tmp_path / "blue-styles"
    red = write_style(red_dir / "love" / "rose.jpg", (210, 50, 60))
    blue = write_style(blue_dir / "love" / "rose.jpg", (40, 70, 210))
    with_red = ClassicStylist().stylize(image, MOODS["love"], seed=5, style_dir=red_dir)
    with_blue = ClassicStylist().stylize(image, MOODS["love"], seed=5, style_dir=blue_dir)
    palette = ClassicStylist().stylize(image, MOODS["love"], seed=5)
    assert with_red.style_reference == red
    assert with_blue.style_reference == blue
    assert with_red.image.tobytes() != with_blue.image.tobytes()
    assert with_red.image.tobytes() != palette.image.tobytes()
    assert lab_mean(with_blue.image)[2] < lab_mean(with_red.image)[2] - 20


def test_style_image_is_picked_per_seed(tmp_path: Path) -> None:
    for name, rgb in [
        ("a.jpg", (200, 40, 40)),
        ("b.png", (40, 200, 40)),
        ("c.jpeg", (40, 40, 200)),
    ]:
        write_style(tmp_path / "fear" / name, rgb)
    for seed in range(5):
        result = ClassicStylist().stylize(
            gradient(64, 64), MOODS["fear"], seed=seed, style_dir=tmp_path
        )
        assert result.style_reference == pick_style_image(tmp_path, "fear", seed)


def test_a_mood_without_style_images_falls_back_to_its_palette(tmp_path: Path) -> None:
    write_style(tmp_path / "anger" / "fire.jpg", (220, 60, 20))
    result = ClassicStylist().stylize(gradient(), MOODS["trust"], seed=1, style_dir=tmp_path)
    assert result.style_reference is None


def test_a_corrupt_style_image_raises_naming_it(tmp_path: Path) -> None:
    (tmp_path / "shame").mkdir()
    (tmp_path / "shame" / "torn.jpg").write_bytes(b"GIF89a definitely not a jpeg")
    with pytest.raises(GenerationError, match="torn.jpg"):
        ClassicStylist().stylize(gradient(), MOODS["shame"], seed=0, style_dir=tmp_path)


@pytest.mark.parametrize("mood", MOOD_NAMES)
def test_every_mood_gives_a_visible_picture(mood: str) -> None:
    image = gradient(96, 80)
    result = ClassicStylist().stylize(image, MOODS[mood], seed=7)
    pixels = np.asarray(result.image)
    assert result.image.size == image.size and result.image.mode == "RGB"
    assert result.mood == mood
    # Not black, not blank: some light, and real variation across the picture.
    assert pixels.mean() > 20
    assert pixels.std() > 8


def test_a_dark_input_does_not_turn_black() -> None:
    dark = Image.fromarray((np.asarray(gradient(), dtype=np.float32) * 0.12).astype(np.uint8))
    pixels = np.asarray(ClassicStylist().stylize(dark, MOODS["fear"], seed=2).image)
    assert pixels.max() > 40
    assert pixels.std() > 3


def test_odd_sizes_and_modes_work() -> None:
    stylist = ClassicStylist()
    for size in [(1, 1), (3, 2), (300, 7)]:
        for mode in ("RGB", "L", "RGBA"):
            result = stylist.stylize(Image.new(mode, size, 90), MOODS["optimism"], seed=-1)
            assert result.image.size == size and result.image.mode == "RGB"


def test_not_an_image_is_refused() -> None:
    with pytest.raises(ValueError, match="`image`"):
        ClassicStylist().stylize("painting.png", MOODS["love"], seed=0)  # type: ignore[arg-type]
