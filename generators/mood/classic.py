"""The offline stylist: LAB colour transfer, Kuwahara dabs, contour strokes and a canvas weave."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from generators.image.quality import ensure_usable, image_problem
from generators.mood.base import LUMA_WEIGHTS, Stylization, check_stylist_input
from generators.mood.colour import transfer_to_mood
from generators.mood.moods import pick_style_image

if TYPE_CHECKING:
    from generators.mood.moods import Mood

Float32Array = NDArray[np.float32]

# How far toward the mood's colours the image moves; the rest keeps the painting's own hues.
COLOUR_STRENGTH = 0.8
# Quadrant side of the brush filter per 1024 px of the shorter side: about a bristle-brush dab.
BRUSH_RADIUS_PER_1024 = 4
# Quadrants are weighted by variance ** -BRUSH_SHARPNESS: higher picks the calmest quadrant more
# decisively (crisper dabs), lower blends them (softer, fewer blocky seams). An integer, so the
# power is plain multiplication rather than a slow float pow over a megapixel.
BRUSH_SHARPNESS = 3
# Brush strokes follow the painting's contours: how long a stroke is (per 1024 px, each way
# from its centre) and how strongly its bristle streaks modulate brightness.
STROKE_LENGTH_PER_1024 = 14
STROKE_DEPTH = 0.05
# How deep the canvas weave shows: enough to read as texture, not as a pattern over the picture.
CANVAS_DEPTH = 0.04
# Thread spacing of the canvas per 1024 px.
CANVAS_PERIOD_PER_1024 = 5.0
# Brush variance is judged on brightness, as a painter sees value before hue.
_LUMA = np.array(LUMA_WEIGHTS, dtype=np.float32)


class ClassicStylist:
    """Recolours in a mood's palette or style image, then paints it with brush and canvas."""

    name = "classic"

    def stylize(
        self, image: Image.Image, mood: Mood, *, seed: int, style_dir: Path | None = None
    ) -> Stylization:
        """Style `image` in `mood`; the same image, mood, seed and style folder give equal bytes."""
        check_stylist_input(image)
        style_reference = pick_style_image(style_dir, mood.name, seed)
        recoloured = transfer_to_mood(
            image, mood, style_image=style_reference, strength=COLOUR_STRENGTH
        )
        pixels = np.asarray(recoloured, dtype=np.float32) * np.float32(1.0 / 255.0)
        short_side = min(pixels.shape[:2])
        radius = max(1, round(short_side * BRUSH_RADIUS_PER_1024 / 1024))
        painted = _kuwahara(pixels, radius)
        painted *= _brush_strokes(recoloured, seed)[..., np.newaxis]
        painted *= _canvas_texture(painted.shape[0], painted.shape[1], seed)[..., np.newaxis]
        out = np.clip(painted * np.float32(255.0) + np.float32(0.5), 0.0, 255.0).astype(np.uint8)
        styled = Image.fromarray(out, "RGB")
        # A flat or black input may stay so; a usable painting must come out usable.
        if image_problem(image) is None:
            ensure_usable(styled, what=f"the classic stylist (mood {mood.name!r})")
        return Stylization(
            image=styled,
            mood=mood.name,
            engine=self.name,
            model=None,
            style_reference=style_reference,
        )


def _box_sums(channels: Float32Array, side: int) -> Float32Array:
    """Sums over every side×side window, anchored at its top-left corner."""
    # Adding shifted slices keeps float32 exact enough; a summed-area table over a megapixel
    # would lose the small variances the Kuwahara filter compares.
    rows = channels.shape[0] - side + 1
    vertical = channels[:rows].copy()
    for offset in range(1, side):
        vertical += channels[offset : offset + rows]
    cols = channels.shape[1] - side + 1
    total = vertical[:, :cols].copy()
    for offset in range(1, side):
        total += vertical[:, offset : offset + cols]
    return total


def _kuwahara(rgb: Float32Array, radius: int) -> Float32Array:
    """A smooth Kuwahara filter: each pixel takes the colour of its calmest neighbouring quadrant.

    Flat areas become even dabs and edges stay sharp, which reads as paint. Quadrants are
    weighted by inverse variance (Papari et al.'s idea, on square sectors) rather than picked
    outright, which avoids the blocky seams of the original filter.
    """
    height, width = rgb.shape[:2]
    side = radius + 1
    luma = rgb @ _LUMA
    stack = np.concatenate([rgb, luma[..., None], (luma * luma)[..., None]], axis=-1)
    padded = np.pad(stack, ((radius, radius), (radius, radius), (0, 0)), mode="symmetric")
    means = _box_sums(padded, side)
    means *= np.float32(1.0 / (side * side))
    weighted = np.zeros_like(rgb)
    total_weight = np.zeros((height, width), dtype=np.float32)
    # Quadrant top-left corners relative to the pixel, in padded coordinates.
    for dy in (0, radius):
        for dx in (0, radius):
            quadrant = means[dy : dy + height, dx : dx + width]
            variance = np.maximum(quadrant[..., 4] - quadrant[..., 3] ** 2, 0.0)
            # The floor keeps perfectly flat quadrants from dominating with infinite weight.
            variance += np.float32(1e-4)
            weight = variance
            for _ in range(BRUSH_SHARPNESS - 1):
                weight = weight * variance
            np.reciprocal(weight, out=weight)
            weighted += quadrant[..., :3] * weight[..., None]
            total_weight += weight
    weighted /= total_weight[..., None]
    return weighted


def _resize_field(field: Float32Array, height: int, width: int) -> Float32Array:
    resized = Image.fromarray(field).resize((width, height), Image.Resampling.BILINEAR)
    return np.array(resized, dtype=np.float32)


def _brush_strokes(image: Image.Image, seed: int) -> Float32Array:
    """A multiplicative bristle texture, mean 1: seeded noise smeared along the image's contours.

    This is line integral convolution with straight strokes: each pixel averages noise along the
    local edge tangent, so streaks run around forms the way a brush follows them. It is computed
    at half size (strokes are wider than a pixel anyway) and the direction field at quarter size,
    where pixel noise no longer steers it.
    """
    short_side = min(image.size)
    lic_scale = max(1, round(short_side / 512))
    field_scale = lic_scale * 2
    width, height = (max(1, side // lic_scale) for side in image.size)
    luma = image.convert("L").reduce(field_scale)
    value = np.asarray(luma, dtype=np.float32) * np.float32(1.0 / 255.0)
    grad_y, grad_x = np.gradient(value) if min(value.shape) > 1 else (value * 0, value * 0)
    tensor = np.stack([grad_x * grad_x, grad_x * grad_y, grad_y * grad_y], axis=-1)
    side = 5
    tensor = _box_sums(np.pad(tensor, ((2, 2), (2, 2), (0, 0)), mode="edge"), side)
    jxx, jxy, jyy = (_resize_field(tensor[..., i], height, width) for i in range(3))
    # A faint vertical gradient everywhere makes flat areas (open sky, still water) take
    # horizontal strokes instead of whatever direction noise would give them.
    jyy += np.float32(2e-6 * side * side)
    gradient_angle = np.float32(0.5) * np.arctan2(np.float32(2.0) * jxy, jxx - jyy)
    step_x = -np.sin(gradient_angle)
    step_y = np.cos(gradient_angle)
    rng = np.random.default_rng([seed % 2**63, 0xB7A5])
    noise = rng.random((height, width), dtype=np.float32)
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    length = max(1, round(short_side * STROKE_LENGTH_PER_1024 / 1024 / lic_scale / 2))
    streaks = np.zeros((height, width), dtype=np.float32)
    for t in range(-length, length + 1):
        ys = np.clip(np.rint(rows + t * step_y), 0, height - 1).astype(np.intp)
        xs = np.clip(np.rint(cols + t * step_x), 0, width - 1).astype(np.intp)
        streaks += noise[ys, xs]
    streaks -= streaks.mean()
    streaks *= np.float32(STROKE_DEPTH / max(float(streaks.std()), 1e-6))
    streaks += np.float32(1.0)
    return _resize_field(streaks, image.height, image.width)


def _canvas_texture(height: int, width: int, seed: int) -> Float32Array:
    """A multiplicative canvas: woven threads of uneven thickness plus a fine grain, mean 1."""
    rng = np.random.default_rng([seed % 2**63, 0xCA57A5])
    period = max(2.0, min(height, width) * CANVAS_PERIOD_PER_1024 / 1024)
    y = np.arange(height, dtype=np.float32)[:, None]
    x = np.arange(width, dtype=np.float32)[None, :]
    # Over-under weave: warp and weft threads alternate, a checkerboard of soft bumps.
    phase = np.float32(2 * np.pi / period)
    weave = np.sin(x * phase) * np.sin(y * phase)
    # Real threads vary in thickness along the roll: slow noise per row and per column.
    weft = _smoothed_noise(rng, height, window=9)[:, None]
    warp = _smoothed_noise(rng, width, window=9)[None, :]
    grain = rng.standard_normal((height, width), dtype=np.float32)
    texture = weave * np.float32(0.25) + (weft + warp) * np.float32(0.35)
    texture += grain * np.float32(0.4)
    texture *= np.float32(CANVAS_DEPTH / 2)
    texture += np.float32(1.0)
    return texture


def _smoothed_noise(rng: np.random.Generator, length: int, *, window: int) -> Float32Array:
    """Unit-variance noise of `length` samples, box-smoothed over `window` samples."""
    noise = rng.standard_normal(length + window - 1).astype(np.float32)
    smooth = np.convolve(noise, np.full(window, 1.0 / window, dtype=np.float32), mode="valid")
    return (smooth / np.float32(max(float(smooth.std()), 1e-6))).astype(np.float32)
