"""Tiny trained-looking styles for the GAN tests: a prepared collection and a checkpoint."""

from __future__ import annotations

from pathlib import Path

from generators.style.checkpoint import Checkpoint, save_checkpoint
from generators.style.layout import StyleLayout
from generators.style.model import GanArchitecture
from generators.style.prepare import prepare_style
from generators.style.train import TrainOptions
from tests.generators.style_collections import make_collection

TINY = GanArchitecture(resolution=16, latent=8, gen_width=4, disc_width=4)


def tiny_options(**changes: object) -> TrainOptions:
    """Options for a few CPU steps on 16 px images."""
    base: dict[str, object] = {
        "architecture": TINY,
        "steps": 4,
        "batch_size": 4,
        "checkpoint_every": 2,
        "sample_every": 2,
        "device": "cpu",
    }
    return TrainOptions(**{**base, **changes})  # type: ignore[arg-type]


def tiny_style(root: Path, name: str = "blobs", count: int = 10) -> StyleLayout:
    """A prepared 16 px style of `count` distinct pictures under `root`/styles."""
    source = root / f"curated-{name}"
    if not source.exists():
        make_collection(source, count, size=24)
    return prepare_style(source, root / "styles", name, resolution=16, replace=True).layout


def untrained_checkpoint(
    layout: StyleLayout, arch: GanArchitecture = TINY, seed: int = 0, contrast: float = 30.0
) -> Checkpoint:
    """A checkpoint of freshly initialised networks whose samples vary and are never blank."""
    import torch

    from generators.style.model import Discriminator, Generator

    torch.manual_seed(seed)
    generator, discriminator = Generator(arch), Discriminator(arch)
    # Settle the batch-norm statistics on a few batches, as training would; with the
    # initial ones every sample saturates to one flat colour.
    with torch.no_grad():
        for _ in range(20):
            generator(torch.randn(16, arch.latent))
        # Fresh output layers give near-grey pictures; widen them so samples show structure.
        generator.to_rgb.weight.mul_(contrast)
    return save_checkpoint(
        layout.checkpoints,
        1,
        generator=generator.state_dict(),
        generator_ema=generator.state_dict(),
        discriminator=discriminator.state_dict(),
        optimizers={},
        state={"architecture": arch.as_dict(), "style": layout.name},
        keep=3,
    )
