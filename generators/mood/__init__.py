"""The mood stage: stylists that recolour a painting in one of the 20 WikiArt-Emotions moods."""

from __future__ import annotations

from typing import Any

from generators.models import weights_on_disk
from generators.registry import EngineOptions, EngineSpec, register


# Each factory imports its engine's module when called: registering costs nothing, and
# an engine nobody chose never loads (numpy, Pillow, the word bank, the neural code).
def _classic(options: EngineOptions) -> Any:
    from generators.mood.classic import ClassicStylist

    return ClassicStylist()


def _diffusion(options: EngineOptions) -> Any:
    from generators.mood.diffusion import DiffusionStylist

    return DiffusionStylist.from_options(options)


def _diffusion_weights(model: str) -> tuple[bool, str]:
    return weights_on_disk(model, kind="diffusion")


register(
    EngineSpec(
        "mood", "classic", _classic, description="LAB colour transfer, painterly filter, canvas"
    )
)
register(
    EngineSpec(
        "mood",
        "diffusion",
        _diffusion,
        neural=True,
        weights_available=_diffusion_weights,
        description="img2img repaint with the mood's prompt, then colour transfer",
    )
)
