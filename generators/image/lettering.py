"""The poem lettered on the painting, as haiga are: small, in ink, in the emptiest space.

The face is Aileron Regular (by Sora Sagano, dotcolon.net, released into the public domain
under CC0), the font Pillow itself ships as `ImageFont.load_default`: nothing is downloaded.
Pillow's copy has a limited character set, so a character it lacks is replaced by its plain
form ("é" by "e", "—" by "-") rather than drawn as a box.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

Box = tuple[int, int, int, int]

# Text height as a fraction of the sheet: readable on a phone, small beside the painting.
TEXT_SIZE = 0.026
LINE_SPACING = 0.45
# A place is empty enough when this little paint lies under the block (mean coverage) and it
# touches no drawn subject.
MOST_PAINT = 0.03
_PLAIN = {"\u2014": "-", "\u2013": "-", "\u2026": "...", "\u2018": "'", "\u2019": "'"}


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _missing_glyph(font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> bytes:
    return bytes(font.getmask("\u25a1"))


def printable(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> str:
    """`text` with each character the font lacks replaced by a plain one it has (or dropped)."""
    missing = _missing_glyph(font)
    out = []
    for char in text:
        if char == " " or bytes(font.getmask(char)) != missing:
            out.append(char)
            continue
        plain = _PLAIN.get(char) or unicodedata.normalize("NFKD", char).encode("ascii", "ignore")
        out.append(plain if isinstance(plain, str) else plain.decode())
    return "".join(out)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def letter_poem(
    image: Image.Image,
    lines: Sequence[str],
    coverage: NDArray[np.float32],
    drawn: Sequence[Box],
    *,
    strip: tuple[float, float],
    colour: tuple[int, int, int],
) -> Box | None:
    """Letter `lines` where the sheet is emptiest; returns the text's box, or None when no
    place is empty enough (then nothing is lettered, rather than writing over the painting).

    `coverage` is the paint per pixel (0..1), `drawn` the subjects' boxes and `strip` the
    painting's left and right edges (a scroll's is narrower than the sheet).
    """
    size = image.size[1]
    font = _font(max(8, round(size * TEXT_SIZE)))
    text = "\n".join(printable(line.strip(), font) for line in lines)
    draw = ImageDraw.Draw(image)
    spacing = round(size * TEXT_SIZE * LINE_SPACING)
    x0, y0, x1, y1 = draw.multiline_textbbox((0, 0), text, font=font, spacing=spacing)
    width, height = x1 - x0, y1 - y0
    left, right = strip
    margin = (right - left) * 0.06
    if width > right - left - 2 * margin:
        return None
    xs = (left + margin, (left + right - width) / 2, right - margin - width)
    # Upper places first (where haiga are usually lettered); lower ones when those are taken.
    ys = (size * 0.06, size * 0.16, size * 0.3, size * 0.5, size * 0.64)
    best: tuple[float, Box] | None = None
    for y in ys:
        for x in xs:
            box = (round(x), round(y), round(x + width), round(y + height))
            pad = round(size * 0.015)
            padded = (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)
            if any(_overlaps(padded, d) for d in drawn):
                continue
            paint = float(coverage[padded[1] : padded[3], max(0, padded[0]) : padded[2]].mean())
            if paint <= MOST_PAINT and (best is None or paint < best[0]):
                best = (paint, box)
    if best is None:
        return None
    box = best[1]
    draw.multiline_text((box[0] - x0, box[1] - y0), text, font=font, fill=colour, spacing=spacing)
    return box
