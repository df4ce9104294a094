"""The ink stylist: the mood tints paper and ink, the painting's values and accents stay."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from generators.image.ink import InkPainter
from generators.mood.ink import ATMOSPHERES, InkStylist
from generators.mood.moods import MOODS, get_mood
from generators.poem.grammar import GrammarPoemWriter

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@pytest.fixture(scope="module")
def painting() -> Image.Image:
    poem = GrammarPoemWriter().write(seed=1)
    return InkPainter().paint(poem, size=256, seed=1).image


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def test_same_input_gives_the_same_bytes(painting: Image.Image) -> None:
    first = InkStylist().stylize(painting, get_mood("love"), seed=3)
    again = InkStylist().stylize(painting, get_mood("love"), seed=3)
    assert first.image.tobytes() == again.image.tobytes()
    assert first.image.size == painting.size
    assert (first.engine, first.mood, first.style_reference) == ("ink", "love", None)


@pytest.mark.parametrize("mood", ["trust", "humility", "surprise", "neutral"])
def test_every_value_of_the_painting_is_kept(painting: Image.Image, mood: str) -> None:
    assert mood not in ATMOSPHERES  # plain moods: the tone map alone
    # A monotonic tone map: brightness before and after move together, so no edge is lost.
    before = pixels(painting) @ _LUMA
    after = pixels(InkStylist().stylize(painting, get_mood(mood), seed=1).image) @ _LUMA
    assert np.corrcoef(before.ravel(), after.ravel())[0, 1] > 0.99
    # ...and the paper stays light, the ink dark: ink on paper, not a colour card.
    assert after[before >= np.percentile(before, 70)].mean() > 0.75
    assert after[before <= np.percentile(before, 1)].mean() < 0.35


def detail(luma: np.ndarray) -> np.ndarray:
    """The luminance detail: the image minus a 9-pixel box blur of itself."""
    grey = Image.fromarray(np.clip(luma * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    blurred = np.asarray(grey.filter(ImageFilter.BoxBlur(4)), np.float32) / 255.0
    return luma - blurred


@pytest.mark.parametrize(
    ("mood", "kind"), [("sadness", "mist"), ("gratitude", "glow"), ("fear", "gloom")]
)
def test_the_atmosphere_shows_and_keeps_the_detail(
    painting: Image.Image, mood: str, kind: str
) -> None:
    assert ATMOSPHERES[mood] == kind
    before = pixels(painting) @ _LUMA
    styled = pixels(InkStylist().stylize(painting, get_mood(mood), seed=1).image)
    plain = pixels(InkStylist().stylize(painting, get_mood(mood), seed=1, atmosphere=False).image)
    # Every stroke's edge survives the mist, light or gloom...
    kept = np.corrcoef(detail(before).ravel(), detail(styled @ _LUMA).ravel())[0, 1]
    assert kept > 0.9, f"{mood}: luminance detail correlation {kept:.3f}"
    # ...and the atmosphere is really there: mist lifts the darks, the glow warms the paper
    # (red above blue), the gloom darkens the corners.
    change = styled - plain
    if kind == "mist":
        dark = before < np.percentile(before, 10)
        assert (styled @ _LUMA)[dark].mean() > (plain @ _LUMA)[dark].mean() + 0.02
    elif kind == "glow":
        warmer = change[..., 0] - change[..., 2]  # red gained over blue
        assert max(warmer[:, :128].mean(), warmer[:, 128:].mean()) > 0.03
    else:
        corner = (styled @ _LUMA)[:24, :24].mean()
        assert corner < (plain @ _LUMA)[:24, :24].mean() - 0.1


def test_accents_keep_their_colour(painting: Image.Image) -> None:
    source = pixels(painting)
    accent = (source.max(axis=2) - source.min(axis=2)) >= 0.35  # the red seal at least
    assert accent.sum() > 20
    styled = pixels(InkStylist().stylize(painting, get_mood("sadness"), seed=1).image)
    assert np.abs(styled[accent] - source[accent]).max() <= 1 / 255 + 1e-6


def test_the_twenty_moods_are_told_apart(painting: Image.Image) -> None:
    value = pixels(painting) @ _LUMA
    paper = value >= np.percentile(value, 70)
    middle = (value > np.percentile(value, 5)) & (value < np.percentile(value, 60))
    signatures = {}
    for name, mood in MOODS.items():
        styled = pixels(InkStylist().stylize(painting, mood, seed=1).image) * 255
        signatures[name] = np.concatenate([styled[paper].mean(0), styled[middle].mean(0)])
    distances = [
        float(np.linalg.norm(signatures[a] - signatures[b]))
        for a, b in itertools.combinations(signatures, 2)
    ]
    # Paper and middle tones differ for every pair of moods (RGB units), most by far more.
    assert min(distances) > 3
    assert float(np.median(distances)) > 20


def test_a_style_image_gives_the_tones(painting: Image.Image, tmp_path: Path) -> None:
    folder = tmp_path / "styles" / "trust"
    folder.mkdir(parents=True)
    ramp = np.linspace(0, 1, 64, dtype=np.float32)[:, np.newaxis] * np.ones((64, 64))
    blue = np.stack([ramp * 0.3, ramp * 0.5, ramp], axis=-1)  # dark navy to light blue
    Image.fromarray((blue * 255).astype(np.uint8), "RGB").save(folder / "sea.png")
    styled = InkStylist().stylize(
        painting, get_mood("trust"), seed=1, style_dir=tmp_path / "styles"
    )
    assert styled.style_reference == folder / "sea.png"
    value = pixels(painting) @ _LUMA
    paper = pixels(styled.image)[value >= np.percentile(value, 70)].mean(axis=0)
    assert paper[2] > paper[0] + 0.1  # the paper turned blue


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="`image` must be a non-empty PIL image"):
        InkStylist().stylize("not an image", get_mood("love"), seed=1)  # type: ignore[arg-type]
