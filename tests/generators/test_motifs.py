"""The ink hand: every concrete subject of the word bank has a motif that draws, per seed."""

from __future__ import annotations

import numpy as np
import pytest

from generators.image.brush import InkCanvas
from generators.image.ink import InkPainter
from generators.image.motifs import MOTIFS, Pen, motif_for
from generators.image.scene import (
    CELESTIALS,
    FAUNAS,
    FLORAS,
    TERRAINS,
    WEATHERS,
    scene_from_poem,
)
from generators.poem.grammar import GrammarPoemWriter
from generators.poem.wordbank import IMAGES, PLACES
from generators.registry import get_engine_spec

# The scene's weather "clear" is the absence of weather: nothing to draw.
_NOT_SUBJECTS = {"clear"}


def _subjects() -> list[str]:
    names = [image.keyword for image in IMAGES] + [place.keyword for place in PLACES]
    names += [*CELESTIALS, *TERRAINS, *FLORAS, *FAUNAS, *WEATHERS]
    return sorted(set(names) - _NOT_SUBJECTS)


def _draw(name: str, seed: int) -> np.ndarray:
    canvas = InkCanvas(128, np.random.default_rng(seed))
    motif = motif_for(name)
    assert motif is not None
    motif.draw(Pen(canvas, (16.0, 16.0, 112.0, 112.0), canvas.rng))
    return canvas.coverage()


def test_every_word_bank_subject_has_a_motif() -> None:
    missing = [name for name in _subjects() if motif_for(name) is None]
    assert not missing, f"no motif in generators/image/motifs.py for: {missing}"


@pytest.mark.parametrize("name", sorted(MOTIFS))
def test_each_motif_draws_inside_its_box_deterministically(name: str) -> None:
    density = _draw(name, seed=3)
    inside = density[16:112, 16:112]
    assert (inside > 0.1).mean() > 0.002, f"{name} drew (almost) nothing in its box"
    assert np.array_equal(density, _draw(name, seed=3))


def test_ink_engine_is_registered_and_deterministic() -> None:
    painter = get_engine_spec("image", "ink").build(get_engine_spec("image", "ink").options())
    poem = GrammarPoemWriter().write(seed=1)
    first = painter.paint(poem, size=128, seed=1)
    again = InkPainter().paint(poem, size=128, seed=1)
    assert first.engine == "ink"
    assert first.image.tobytes() == again.image.tobytes()
    assert first.drawn == again.drawn


def test_the_poem_s_subjects_are_drawn_and_recorded_where() -> None:
    writer, painter = GrammarPoemWriter(), InkPainter()
    for seed in range(12):
        poem = writer.write(seed=seed)
        painting = painter.paint(poem, size=256, seed=seed)
        drawn = {name for name, _ in painting.drawn}
        named = {m.name for k in scene_from_poem(poem).subjects if (m := motif_for(k))}
        assert named <= drawn, f"seed {seed}: {named - drawn} named in the poem but not drawn"
        for name, (x0, y0, x1, y1) in painting.drawn:
            assert 0 <= x0 < x1 <= 256 and 0 <= y0 < y1 <= 256, (name, (x0, y0, x1, y1))
        assert "in ink on paper" in painting.description
