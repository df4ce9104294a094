"""The procedural painter: deterministic, the right size, never blank, true to the scene."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generators.image.base import Painter, Painting
from generators.image.procedural import ProceduralPainter
from generators.image.quality import image_problem
from generators.poem.base import Poem

POEMS = {
    "winter night": Poem(
        lines=("moon over the river", "snow falls on the old pines", "a crow calls at night"),
        engine="test",
        imagery=("moon", "river", "snow", "pine", "crow"),
        season="winter",
    ),
    "spring mountains": Poem(
        lines=("cherry petals drift", "across the misty mountain", "the geese fly northward"),
        engine="test",
        imagery=("blossom", "mountain", "mist"),
        season="spring",
    ),
    "autumn lake": Poem(
        lines=("red leaves on the lake", "evening bell across the hills", "the sunset fading"),
        engine="test",
        season="autumn",
    ),
    "summer field": Poem(
        lines=("fireflies tonight", "over rice paddies they blink", "summer grass is tall"),
        engine="test",
    ),
    "rainy sea": Poem(
        lines=("rain on the grey sea", "a heron waits on the rocks", "the bare willow bends"),
        engine="test",
    ),
    "abstract": Poem(
        lines=("what I meant to say", "remains unsaid between us", "the silence grows long"),
        engine="test",
    ),
}


def _bytes(painting: Painting) -> bytes:
    return painting.image.tobytes()


def test_it_is_a_painter() -> None:
    assert isinstance(ProceduralPainter(), Painter)
    assert ProceduralPainter.name == "procedural"


@pytest.mark.parametrize("name", sorted(POEMS))
def test_same_seed_gives_identical_bytes(name: str) -> None:
    painter = ProceduralPainter()
    first = painter.paint(POEMS[name], size=160, seed=11)
    second = painter.paint(POEMS[name], size=160, seed=11)
    assert _bytes(first) == _bytes(second)


def test_different_seeds_differ() -> None:
    painter = ProceduralPainter()
    images = {_bytes(painter.paint(POEMS["spring mountains"], size=128, seed=s)) for s in range(4)}
    assert len(images) == 4


def test_painting_fields() -> None:
    painting = ProceduralPainter().paint(POEMS["winter night"], size=128, seed=3)
    assert painting.engine == "procedural"
    assert painting.model is None
    assert painting.image.mode == "RGB"
    assert painting.image.size == (128, 128)
    assert "moonlit" in painting.description and "pine" in painting.description
    assert "river" in painting.prompt


@pytest.mark.parametrize("name", sorted(POEMS))
def test_never_blank_over_many_seeds(name: str) -> None:
    painter = ProceduralPainter()
    for seed in range(0, 20, 4):
        image = painter.paint(POEMS[name], size=128, seed=seed).image
        assert image_problem(image) is None, (name, seed)


def test_twenty_seeds_of_night_stay_visible() -> None:
    painter = ProceduralPainter()
    for seed in range(20):
        image = painter.paint(POEMS["summer field"], size=96, seed=seed).image
        assert image_problem(image) is None, seed


def test_an_abstract_poem_becomes_a_flow_field() -> None:
    painting = ProceduralPainter().paint(POEMS["abstract"], size=192, seed=5)
    assert "abstract" in painting.description
    # A flow field is busy everywhere, not a sky above a ground: rows vary alike top and bottom.
    pixels = np.asarray(painting.image.convert("L"), np.float32)
    assert pixels[:64].std() > 5 and pixels[-64:].std() > 5


def test_night_is_darker_than_day() -> None:
    painter = ProceduralPainter()
    night = np.asarray(painter.paint(POEMS["winter night"], size=128, seed=1).image, np.float32)
    day = np.asarray(painter.paint(POEMS["spring mountains"], size=128, seed=1).image, np.float32)
    assert night.mean() < day.mean()


@pytest.mark.parametrize("size", [0, 63, 4097, -5])
def test_size_out_of_range_is_rejected(size: int) -> None:
    with pytest.raises(ValueError, match="`size`"):
        ProceduralPainter().paint(POEMS["abstract"], size=size, seed=0)


def test_size_must_be_an_integer() -> None:
    with pytest.raises(ValueError, match="`size`"):
        ProceduralPainter().paint(POEMS["abstract"], size=128.0, seed=0)  # type: ignore[arg-type]


def test_negative_seed_is_rejected() -> None:
    with pytest.raises(ValueError, match="`seed`"):
        ProceduralPainter().paint(POEMS["abstract"], size=128, seed=-1)


def test_smallest_size_works() -> None:
    image = ProceduralPainter().paint(POEMS["autumn lake"], size=64, seed=2).image
    assert image.size == (64, 64)
    assert image_problem(image) is None


def test_full_size_painting() -> None:
    image = ProceduralPainter().paint(POEMS["winter night"], size=1024, seed=9).image
    assert isinstance(image, Image.Image)
    assert image.size == (1024, 1024)
    assert image_problem(image) is None
