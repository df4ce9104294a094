"""The poem lettered on the painting: in the font Pillow ships, only where the paper is empty."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFont

from generators.image.lettering import letter_poem, printable

LINES = ("the cherry blossoms —", "rain dripping from the temple", "just before the dawn")


def test_characters_the_font_lacks_become_plain_ones() -> None:
    font = ImageFont.load_default(size=20)
    assert printable("the frost — café", font) == "the frost - cafe"
    assert printable("plain words", font) == "plain words"


def test_the_poem_goes_where_the_paper_is_empty() -> None:
    image = Image.new("RGB", (256, 256), (240, 235, 220))
    coverage = np.zeros((256, 256), np.float32)
    subject = (0, 0, 256, 120)  # the whole upper half is taken by a subject
    coverage[:120] = 1.0
    box = letter_poem(image, LINES, coverage, [subject], strip=(0, 256), colour=(40, 40, 40))
    assert box is not None
    x0, y0, x1, y1 = box
    assert y0 >= 120 and 0 <= x0 < x1 <= 256
    ink = np.asarray(image.convert("L"), np.float32)
    assert ink[y0:y1, x0:x1].min() < 120  # the words are really there, dark on the paper
    assert ink[:120].min() > 200  # and nothing was written over the subject


def test_no_empty_place_means_no_lettering() -> None:
    image = Image.new("RGB", (256, 256), (240, 235, 220))
    before = image.tobytes()
    coverage = np.full((256, 256), 0.5, np.float32)
    assert letter_poem(image, LINES, coverage, [], strip=(0, 256), colour=(40, 40, 40)) is None
    assert image.tobytes() == before
