"""The ink stylist: the mood tints the paper and the ink; the painting's values stay its own.

Made for the ink hand (`IMAGE_ENGINE=ink`): a haiga is read by its values, so the mood must not
repaint it. Each pixel's value (paper white to ink black) is mapped through a three-stop tone
(the mood's ink, middle and paper colours), a monotonic map that keeps every edge; coloured
accents (blossom, lantern, the seal) keep their own hue. A style image, when the mood has
one, gives the three tones instead of the palette.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from generators.image.quality import ensure_usable, image_problem
from generators.mood.base import LUMA_WEIGHTS, Stylization, check_stylist_input
from generators.mood.moods import pick_style_image

if TYPE_CHECKING:
    from generators.mood.moods import Mood

Float32Array = NDArray[np.float32]

# How far each tone moves from plain ink and paper toward the mood: enough to tell twenty moods
# apart on a contact sheet, little enough that it stays ink on paper.
PAPER_TINT = 0.55
MIDDLE_TINT = 0.5
INK_TINT = 0.4
PLAIN_INK = (0.07, 0.065, 0.06)
PLAIN_MIDDLE = (0.5, 0.49, 0.47)
PLAIN_PAPER = (0.96, 0.93, 0.86)
# A pixel this saturated (max - min channel) is an accent and keeps its colour.
ACCENT_SATURATION = 0.35
# The mood's atmosphere, over the toned painting: mist for the melancholy moods (a band of
# fog lifting the ink toward the paper), a warm light for the glad ones (a glow from one
# upper corner over paper and middle tones), a closing dark for the fearful and hard ones
# (the corners dimmed). The rest stay plain. Strengths keep every subject readable
# (tests/generators/test_ink_record.py measures it over a year of seeds).
ATMOSPHERES: dict[str, str] = {
    **dict.fromkeys(("sadness", "regret", "pessimism", "shame", "shyness"), "mist"),
    **dict.fromkeys(("gratitude", "love", "optimism"), "glow"),
    **dict.fromkeys(("fear", "anger", "disgust", "arrogance"), "gloom"),
}
MIST_LIFT = 0.4
GLOW_STRENGTH = 0.6
GLOW_COLOUR = (1.0, 0.8, 0.5)
GLOOM_DEPTH = 0.3
_LUMA = np.array(LUMA_WEIGHTS, dtype=np.float32)


class InkStylist:
    """Tints paper and ink in a mood's colours, keeping the painting's values and accents."""

    name = "ink"

    def stylize(
        self,
        image: Image.Image,
        mood: Mood,
        *,
        seed: int,
        style_dir: Path | None = None,
        atmosphere: bool = True,
    ) -> Stylization:
        """Tone `image` in `mood`; the same image, mood, seed and style folder give equal bytes.

        `atmosphere=False` leaves out the mood's mist, glow or gloom (the tone map alone).
        """
        check_stylist_input(image)
        style_reference = pick_style_image(style_dir, mood.name, seed)
        ink, middle, paper = _tones(mood, style_reference)
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32) * np.float32(1.0 / 255.0)
        value = pixels @ _LUMA
        # Stretch between the painting's own darkest ink and its paper, so the tones land there.
        low, high = np.percentile(value, [0.5, 99.5]).astype(np.float32)
        value = np.clip((value - low) / max(float(high - low), 1e-3), 0.0, 1.0)
        toned = _through_tones(value, ink, middle, paper)
        if atmosphere:
            toned = _atmosphere(toned, value, ATMOSPHERES.get(mood.name), seed)
        # Channel by channel: far faster than max/min over the last axis of a big array.
        r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
        saturation = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
        keep = np.clip(saturation / np.float32(ACCENT_SATURATION), 0.0, 1.0)[..., np.newaxis]
        out = toned * (1.0 - keep) + pixels * keep
        styled = Image.fromarray(np.clip(out * 255.0 + 0.5, 0.0, 255.0).astype(np.uint8), "RGB")
        if image_problem(image) is None:
            ensure_usable(styled, what=f"the ink stylist (mood {mood.name!r})")
        return Stylization(
            image=styled, mood=mood.name, engine=self.name, style_reference=style_reference
        )


def _tones(mood: Mood, style_image: Path | None) -> tuple[Float32Array, ...]:
    """Ink, middle and paper colours: plain ink and paper moved toward the mood's colours."""
    if style_image is not None:
        with Image.open(style_image) as opened:
            sample = np.asarray(opened.convert("RGB").resize((64, 64)), dtype=np.float32) / 255.0
        by_value = sample.reshape(-1, 3)[np.argsort(sample.reshape(-1, 3) @ _LUMA)]
        tenth = len(by_value) // 10
        targets = (
            by_value[:tenth].mean(axis=0),
            by_value[len(by_value) // 2 - tenth // 2 : len(by_value) // 2 + tenth // 2].mean(0),
            by_value[-tenth:].mean(axis=0),
        )
    else:
        palette = np.array(mood.palette_rgb(), dtype=np.float32) / 255.0  # dark to light
        targets = (palette[0], palette[2], palette[4])
    plain = (PLAIN_INK, PLAIN_MIDDLE, PLAIN_PAPER)
    tints = (INK_TINT, MIDDLE_TINT, PAPER_TINT)
    return tuple(
        (np.asarray(base, dtype=np.float32) * (1 - tint) + target * tint).astype(np.float32)
        for base, target, tint in zip(plain, targets, tints, strict=True)
    )


def _atmosphere(
    toned: Float32Array, value: Float32Array, kind: str | None, seed: int
) -> Float32Array:
    """Lay the mood's mist, glow or gloom over the toned painting (placed by the seed)."""
    if kind is None:
        return toned
    rng = np.random.default_rng(seed)
    height, width = value.shape
    ys = (np.arange(height, dtype=np.float32) + 0.5)[:, np.newaxis] / height
    xs = (np.arange(width, dtype=np.float32) + 0.5)[np.newaxis, :] / width
    if kind == "mist":
        # A band of fog across the lower middle: ink in it is lifted toward the paper.
        centre = np.float32(rng.uniform(0.55, 0.75))
        band = np.exp(-(((ys - centre) / np.float32(0.12)) ** 2)) * np.float32(MIST_LIFT)
        paper = toned.reshape(-1, 3)[np.argmax(value.ravel())]
        return toned + (paper - toned) * band[..., np.newaxis]
    if kind == "glow":
        # Warm light from an upper corner, over the light tones only: the ink stays ink.
        corner = np.float32(0.0 if rng.random() < 0.5 else 1.0)
        distance = np.sqrt((xs - corner) ** 2 + (ys - np.float32(0.1)) ** 2)
        light = np.clip(1.0 - distance / np.float32(1.1), 0.0, 1.0) ** 1.5 * (0.4 + 0.6 * value)
        warm = np.asarray(GLOW_COLOUR, np.float32) * np.maximum(value, 0.5)[..., np.newaxis]
        return toned + (warm - toned) * (light * np.float32(GLOW_STRENGTH))[..., np.newaxis]
    # Gloom: the corners close in.
    corners = np.clip(np.sqrt((xs - 0.5) ** 2 + (ys - 0.5) ** 2) / np.float32(0.71), 0.0, 1.0)
    return toned * (1.0 - np.float32(GLOOM_DEPTH) * corners**2)[..., np.newaxis]


# Steps of the tone map's lookup table: finer than 8-bit output can show.
_TONE_STEPS = 4096


def _through_tones(
    value: Float32Array, ink: Float32Array, middle: Float32Array, paper: Float32Array
) -> Float32Array:
    """Map values in [0, 1] through ink (0), middle (0.5) and paper (1), linearly between.

    Through a lookup table of the map: one gather per pixel instead of arithmetic on three
    full-size channels.
    """
    steps = np.linspace(0.0, 1.0, _TONE_STEPS, dtype=np.float32)
    lower = np.minimum(steps * 2.0, 1.0)[:, np.newaxis]
    upper = np.maximum(steps * 2.0 - 1.0, 0.0)[:, np.newaxis]
    table = np.where(
        steps[:, np.newaxis] < 0.5, ink + (middle - ink) * lower, middle + (paper - middle) * upper
    ).astype(np.float32)
    index = (value * np.float32(_TONE_STEPS - 1) + np.float32(0.5)).astype(np.intp)
    return table[index]
