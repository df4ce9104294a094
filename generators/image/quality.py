"""Checks that a painted image is usable: not black, not blank, not a broken array."""

from __future__ import annotations

from PIL import Image, ImageStat

from generators.errors import GenerationError

# Modes a painter may hand on; anything else (e.g. "F", "I;16", "P") is a bug upstream.
USABLE_MODES = frozenset({"RGB", "RGBA", "L"})
# Below this mean luminance (0-255) an image reads as black: a safety checker's blank
# output, or NaN latents cast to uint8, which land on 0.
MIN_MEAN_LUMINANCE = 8.0
# Below this luminance standard deviation an image is one flat colour: nothing was painted.
MIN_LUMINANCE_STDDEV = 2.0


def image_problem(image: Image.Image) -> str | None:
    """Say why an image is unusable as a painting, or return None when it is fine."""
    if not isinstance(image, Image.Image):
        return f"expected a PIL image, got {type(image).__name__}"
    width, height = image.size
    if width <= 0 or height <= 0:
        return f"image has zero size ({width}x{height})"
    if image.mode not in USABLE_MODES:
        return f"image mode {image.mode!r} is not one of {sorted(USABLE_MODES)}"
    luminance = image.convert("RGB").convert("L") if image.mode == "RGBA" else image.convert("L")
    stat = ImageStat.Stat(luminance)
    mean, stddev = stat.mean[0], stat.stddev[0]
    if mean < MIN_MEAN_LUMINANCE:
        return f"image is black or nearly black (mean luminance {mean:.1f}/255)"
    if stddev < MIN_LUMINANCE_STDDEV:
        return f"image is blank: a single flat colour (luminance std-dev {stddev:.2f})"
    return None


def ensure_usable(image: Image.Image, *, what: str) -> None:
    """Raise GenerationError naming the problem when `image` is not a usable painting."""
    problem = image_problem(image)
    if problem is not None:
        raise GenerationError(f"{what} produced an unusable image: {problem}")
