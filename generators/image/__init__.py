"""The image stage: painters that turn a poem into a square RGB image."""

from __future__ import annotations

from functools import partial

from generators.image.base import InkOptions
from generators.image.diffusion import DiffusionPainterOptions
from generators.image.gan import GanPainterOptions, style_weights_available
from generators.models import weights_on_disk
from generators.registry import EngineSpec, register

register(
    EngineSpec(
        "image",
        "procedural",
        "generators.image.procedural:ProceduralPainter",
        description="seeded landscape in oils (the first hand)",
    )
)
register(
    EngineSpec(
        "image",
        "ink",
        "generators.image.ink:InkPainter",
        InkOptions,
        description="haiga: the poem's subjects in ink and wash on paper",
        default_offline=True,
    )
)
register(
    EngineSpec(
        "image",
        "diffusion",
        "generators.image.diffusion:DiffusionPainter",
        DiffusionPainterOptions,
        partial(weights_on_disk, kind="diffusion"),
        "diffusers text-to-image (SD-Turbo class)",
    )
)
register(
    EngineSpec(
        "image",
        "gan",
        "generators.image.gan:GanPainter",
        GanPainterOptions,
        style_weights_available,
        "a GAN Kavi trained on a curated collection (`kavi style train`; STYLE_NAME)",
    )
)
