"""The mood stage: stylists that recolour a painting in one of the 20 WikiArt-Emotions moods."""

from __future__ import annotations

from functools import partial

from generators.models import weights_on_disk
from generators.mood.diffusion import DiffusionStylistOptions
from generators.registry import EngineSpec, register

register(
    EngineSpec(
        "mood",
        "classic",
        "generators.mood.classic:ClassicStylist",
        description="LAB colour transfer, painterly filter, canvas (for procedural)",
        pairs_with="procedural",
    )
)
register(
    EngineSpec(
        "mood",
        "ink",
        "generators.mood.ink:InkStylist",
        description="tints paper and ink in the mood's colours, keeping every value",
        default_offline=True,
    )
)
register(
    EngineSpec(
        "mood",
        "diffusion",
        "generators.mood.diffusion:DiffusionStylist",
        DiffusionStylistOptions,
        partial(weights_on_disk, kind="diffusion"),
        "img2img repaint with the mood's prompt, then colour transfer",
    )
)
