"""The image stage: painters that turn a poem into a square RGB image."""

from __future__ import annotations

from typing import Any

from generators.models import weights_on_disk
from generators.registry import EngineOptions, EngineSpec, register


# Each factory imports its engine's module when called: registering costs nothing, and
# an engine nobody chose never loads (numpy, Pillow, the word bank, the neural code).
def _procedural(options: EngineOptions) -> Any:
    from generators.image.procedural import ProceduralPainter

    return ProceduralPainter()


def _diffusion(options: EngineOptions) -> Any:
    from generators.image.diffusion import DiffusionPainter

    return DiffusionPainter.from_options(options)


def _diffusion_weights(model: str) -> tuple[bool, str]:
    return weights_on_disk(model, kind="diffusion")


register(
    EngineSpec(
        "image", "procedural", _procedural, description="seeded generative landscape painting"
    )
)
register(
    EngineSpec(
        "image",
        "diffusion",
        _diffusion,
        neural=True,
        weights_available=_diffusion_weights,
        description="diffusers text-to-image (SD-Turbo class)",
    )
)
