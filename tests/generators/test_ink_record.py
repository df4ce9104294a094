"""The ink hand over a year of seeds: every subject the poem names is drawn, recorded where,
and still visible after the mood step (a measured contrast, not a flag)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from generators.image.ink import InkPainter, subjects_of
from generators.image.scene import scene_from_poem, unpainted_words
from generators.mood.ink import InkStylist
from generators.mood.moods import draw_mood
from generators.poem.base import Poem
from generators.poem.grammar import GrammarPoemWriter

SIZE = 256
# Luma difference (0..1) between a subject's strongest marks and its surroundings that a
# follower sees at a glance on a phone: 15 of 255 levels.
VISIBLE = 0.06


def region_contrast(luma: NDArray[np.float32], box: tuple[int, int, int, int]) -> float:
    """How much a box's strongest marks differ from the median of a ring around it.

    The ring is a quarter of the box's size on each side; a box that fills the sheet (rain,
    mist) is compared with the whole sheet's median instead.
    """
    side = luma.shape[0]
    x0, y0, x1, y1 = box
    inside = luma[y0:y1, x0:x1]
    mx, my = max(4, (x1 - x0) // 4), max(4, (y1 - y0) // 4)
    rx0, ry0, rx1, ry1 = max(0, x0 - mx), max(0, y0 - my), min(side, x1 + mx), min(side, y1 + my)
    ring = luma[ry0:ry1, rx0:rx1].astype(np.float64)
    ring[y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0] = np.nan
    enough = np.isfinite(ring).sum() > 0.05 * inside.size
    reference = float(np.nanmedian(ring)) if enough else float(np.median(luma))
    return float(np.percentile(np.abs(inside - reference), 99.5))


def test_a_year_of_seeds_draws_records_and_keeps_every_subject() -> None:
    writer, painter, stylist = GrammarPoemWriter(), InkPainter(), InkStylist()
    faint: list[str] = []
    for seed in range(365):
        poem = writer.write(seed=seed)
        scene = scene_from_poem(poem)
        painting = painter.paint(poem, size=SIZE, seed=seed)
        drawn = {name for name, _ in painting.drawn}
        wanted = set(subjects_of(scene))
        assert wanted, f"seed {seed}: the scene names nothing to draw in {poem.text!r}"
        assert wanted <= drawn, f"seed {seed}: {wanted - drawn} named but not drawn"
        # The grammar writes only words the painter knows: nothing may be reported unpainted.
        assert painting.not_drawn == (), f"seed {seed}: {painting.not_drawn}"
        final = stylist.stylize(painting.image, draw_mood(seed), seed=seed).image
        luma = np.asarray(final.convert("L"), dtype=np.float32) / 255.0
        for name, box in painting.drawn:
            contrast = region_contrast(luma, box)
            if contrast < VISIBLE:
                faint.append(f"seed {seed} {name} {box}: {contrast:.3f}")
    assert not faint, f"subjects that do not stand out after the mood step: {faint}"


def test_words_with_no_motif_are_recorded_as_not_drawn() -> None:
    poem = Poem(
        lines=("an old teacup", "cracked on the kitchen shelf —", "the heron waits on"),
        engine="llm",
    )
    painting = InkPainter().paint(poem, size=128, seed=3)
    assert painting.not_drawn == ("teacup", "kitchen", "shelf")
    assert "heron" in {name for name, _ in painting.drawn}
    assert painting.record()["not_drawn"] == ["teacup", "kitchen", "shelf"]
    assert unpainted_words("the heron waits slowly") == ()


def test_the_contrast_measure_sees_a_missing_subject() -> None:
    # The measure must fail for a region where nothing was drawn.
    blank = np.full((64, 64), 0.9, dtype=np.float32)
    assert region_contrast(blank, (16, 16, 48, 48)) < VISIBLE
    blank[30:34, 20:44] = 0.2
    assert region_contrast(blank, (16, 16, 48, 48)) >= VISIBLE


def test_three_framings_and_the_scroll_keeps_to_its_strip() -> None:
    writer, painter = GrammarPoemWriter(), InkPainter()
    framings: set[str] = set()
    for seed in range(40):
        painting = painter.paint(writer.write(seed=seed), size=128, seed=seed)
        framings.add(painting.framing)
        if painting.framing != "scroll":
            continue
        for name, (x0, _, x1, _) in painting.drawn:
            assert 128 * 0.26 <= x0 < x1 <= 128 * 0.74, f"seed {seed}: {name} leaves the strip"
        silk = np.asarray(painting.image.convert("L"), dtype=np.float32)[:, :20]
        assert silk.std() < 2.0, f"seed {seed}: the mount is painted on"
    assert framings == {"landscape", "close-up", "scroll"}
