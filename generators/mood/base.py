"""The mood stage: what a stylist returns and the Protocol every stylist follows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PIL.Image import Image

    from generators.mood.moods import Mood

# Rec. 601 luma weights: a painting's value (brightness) as a painter judges it, before hue.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def check_stylist_input(image: object) -> None:
    """Raise ValueError unless `image` is a non-empty PIL image (the top of every stylize)."""
    from PIL.Image import Image as PILImage

    if not isinstance(image, PILImage) or image.width < 1 or image.height < 1:
        raise ValueError(f"`image` must be a non-empty PIL image, got {image!r}")


@dataclass(frozen=True)
class Stylization:
    """The recoloured image, the mood it was painted in and the style reference used."""

    image: Image
    mood: str
    engine: str
    model: str | None = None
    # The style image the colours were transferred from, or None when the palette was used.
    style_reference: Path | None = None
    prompt: str | None = None


@runtime_checkable
class Stylist(Protocol):
    """Recolours an image in a mood, deterministically per seed; output has the input's size."""

    name: str

    def stylize(
        self, image: Image, mood: Mood, *, seed: int, style_dir: Path | None = None
    ) -> Stylization: ...
